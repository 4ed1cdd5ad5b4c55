"""The generic record helpers every volume service uses: get, page, update, metadata
and the conditional status change, written once (``blockstore.manager.table``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.backend import FileBackend
from blockstore.manager import BadRequest, Caller, Forbidden, NotFound, Store
from blockstore.manager.context import Context
from blockstore.manager.records import Backup, Volume
from blockstore.manager.table import DESCRIBED_V1, Table

ALICE = Caller("alpha", "alice")
BOB = Caller("beta", "bob")
READER = Caller("alpha", "rita", ("reader",))
ADMIN = Caller("admin", "admin", ("admin",))


@pytest.fixture
def ctx(tmp_path: Path):
    store = Store(tmp_path / "records")
    yield Context(store, FileBackend(tmp_path / "files"), None)
    store.close()


def _put(ctx: Context, *records: object) -> None:
    ctx.store.write_now(lambda t: [t.put(r) for r in records])  # type: ignore[arg-type]


def test_get_is_scoped_to_the_callers_project(ctx: Context) -> None:
    vols = Table(ctx, Volume, "Volume")
    vol = Volume(project="alpha", name="a")
    _put(ctx, vol)
    assert vols.get(ALICE, vol.id) == vol
    with pytest.raises(NotFound, match=f"Volume {vol.id} could not be found"):
        vols.get(BOB, vol.id)
    with pytest.raises(NotFound):
        vols.get(ALICE, "../not an id")


def test_page_filters_sorts_and_scopes(ctx: Context) -> None:
    vols = Table(ctx, Volume, "Volume")
    a, b = Volume(project="alpha", name="a"), Volume(project="alpha", name="b")
    other = Volume(project="beta", name="a")
    _put(ctx, a, b, other)
    found, more = vols.page(ALICE, filters={"name": "a", "status": None}, sort="name:asc")
    assert [v.id for v in found] == [a.id] and not more
    found, more = vols.page(ALICE, limit=1, sort="name:asc")
    assert [v.id for v in found] == [a.id] and more
    assert len(vols.page(ALICE, all_projects=True)[0]) == 2  # ignored for a member
    assert len(vols.page(ADMIN, all_projects=True)[0]) == 3


async def test_update_takes_the_kinds_own_names(ctx: Context) -> None:
    vol, bk = Volume(project="alpha"), Backup(project="alpha")
    _put(ctx, vol, bk)
    vols = Table(ctx, Volume, "Volume", DESCRIBED_V1)
    backups = Table(ctx, Backup, "Backup")
    assert (await vols.update(ALICE, vol.id, {"display_name": "v1"})).name == "v1"
    with pytest.raises(BadRequest, match="nothing to update"):
        await backups.update(ALICE, bk.id, {"display_name": "v1"})
    with pytest.raises(BadRequest, match="nothing to update"):
        await vols.update(ALICE, vol.id, {"size": 5})
    with pytest.raises(Forbidden):
        await vols.update(READER, vol.id, {"name": "x"})


async def test_metadata_merges_replaces_and_deletes(ctx: Context) -> None:
    vol = Volume(project="alpha", metadata={"a": "1"})
    _put(ctx, vol)
    vols = Table(ctx, Volume, "Volume")
    assert await vols.set_metadata(ALICE, vol.id, {"b": "2"}) == {"a": "1", "b": "2"}
    assert await vols.set_metadata(ALICE, vol.id, {"c": "3"}, replace=True) == {"c": "3"}
    await vols.delete_metadata(ALICE, vol.id, "c")
    with pytest.raises(NotFound, match=f"Volume {vol.id} has no metadata with key c"):
        await vols.delete_metadata(ALICE, vol.id, "c")


async def test_transition_moves_only_from_the_expected_state(ctx: Context) -> None:
    vol = Volume(project="alpha", status="creating", previous_status="x")
    _put(ctx, vol)
    vols = Table(ctx, Volume, "Volume")
    assert await vols.transition(vol, "extending", "available") is None
    moved = await vols.transition(
        vol, "creating", "error", fail_reason="boom", previous_status=None
    )
    assert moved is not None and (moved.status, moved.fail_reason) == ("error", "boom")
    assert ctx.store.get(Volume, "alpha", vol.id) == moved
    assert (await vols.transition(vol, None, "deleting")).status == "deleting"  # type: ignore[union-attr]
    await vols.forget(vol)
    assert await vols.transition(vol, None, "available") is None
