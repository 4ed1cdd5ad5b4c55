"""One resolver: an ID or a unique name names a resource; otherwise one wording (issue 22)."""

from __future__ import annotations

import pytest

from stratus.cli import resolve
from stratus.cli.main import CommandError

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
ITEMS = [{"id": A, "name": "data"}, {"id": B, "name": "twin"}, {"id": "x1", "name": "twin"}]


class Missing(Exception):
    status = 404


async def listing() -> list[dict]:
    return list(ITEMS)


async def get(ident: str) -> dict:
    for item in ITEMS:
        if item["id"] == ident:
            return {**item, "full": True}
    raise Missing(ident)


async def test_ids_and_unique_names_resolve() -> None:
    assert await resolve.resolve("volume", A, "p:u", listing=listing, get=get) == {
        "id": A, "name": "data", "full": True,
    }  # fmt: skip
    found = await resolve.resolve("volume", "data", "p:u", listing=listing, get=get)
    assert found["id"] == A and found["full"]  # the full object, as by ID
    assert (await resolve.resolve("type", "data", "p:u", listing=listing))["id"] == A


async def test_unknown_and_ambiguous_names_are_refused_with_who_and_what() -> None:
    with pytest.raises(CommandError) as err:
        await resolve.resolve("volume", "nope", "demo:bob", listing=listing, get=get)
    assert str(err.value) == "volume 'nope' not found in project demo (as demo:bob)"
    with pytest.raises(CommandError) as err:
        await resolve.resolve("snapshot", "twin", "demo:bob", listing=listing, get=get)
    assert str(err.value) == (
        f"2 snapshots are named 'twin' in project demo (as demo:bob): {B}, x1; give an ID"
    )
    missing = "33333333-3333-4333-8333-333333333333"
    with pytest.raises(CommandError, match="not found in project demo"):
        await resolve.resolve("server", missing, "demo:bob", listing=listing, get=get)
