"""The tempauth handler against python-swiftclient, the client it must satisfy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from swiftclient.client import ClientException, get_auth

from stratus.identity import IdentityStore, ensure_admin
from stratus.identity.tempauth import make_auth_handler, make_auth_routes
from tests.helpers.net import free_port


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, IdentityStore, str]]:
    """(auth URL, store, admin key) with the routes served on loopback."""
    store = IdentityStore(tmp_path / "identity")
    key = ensure_admin(store, env={})
    assert key is not None
    app = web.Application()
    app.add_routes(make_auth_routes(store, 3600))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/auth/v1.0", store, key
    finally:
        await runner.cleanup()
        store.close()


async def test_swiftclient_get_auth_v1(served: tuple[str, IdentityStore, str]) -> None:
    url, store, key = served
    storage_url, token = await asyncio.to_thread(
        get_auth, url, "admin:admin", key, auth_version="1"
    )
    port = url.split(":")[2].split("/")[0]
    assert storage_url == f"http://127.0.0.1:{port}/v1/AUTH_admin"
    principal = store.authenticate_token(token)
    assert principal is not None and principal.account == "AUTH_admin"
    assert principal.is_admin


async def test_swiftclient_sees_a_refusal(served: tuple[str, IdentityStore, str]) -> None:
    url, store, _ = served
    with pytest.raises(ClientException) as exc:
        await asyncio.to_thread(get_auth, url, "admin:admin", "wrong", auth_version="1")
    assert exc.value.http_status == 401
    assert store.count_tokens() == 0


async def test_trailing_slash_route(served: tuple[str, IdentityStore, str]) -> None:
    url, _, key = served
    storage_url, token = await asyncio.to_thread(
        get_auth, url + "/", "admin:admin", key, auth_version="1"
    )
    assert storage_url.endswith("/v1/AUTH_admin") and token.startswith("AUTH_tk")


def test_lifetime_must_be_positive(tmp_path: Path) -> None:
    with IdentityStore(tmp_path / "i") as store, pytest.raises(ValueError):
        make_auth_handler(store, 0)
