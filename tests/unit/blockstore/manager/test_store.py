"""The LMDB store: typed transactions, project scans, durability across reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.manager.errors import BackendError
from blockstore.manager.records import Snapshot, Volume
from blockstore.manager.store import Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "records")
    yield s
    s.close()


def test_put_get_delete(store: Store) -> None:
    vol = Volume(project="p", size=1)
    store.write_now(lambda t: t.put(vol))
    assert store.get(Volume, "p", vol.id) == vol
    assert store.get(Volume, "q", vol.id) is None  # another project does not see it
    assert store.write_now(lambda t: t.delete(vol)) is True
    assert store.get(Volume, "p", vol.id) is None


def test_scan_is_per_project_and_prefix_safe(store: Store) -> None:
    a = Volume(project="p")
    b = Volume(project="p2")  # "p" is a prefix of "p2": must not leak into p's scan
    c = Volume(project="p")
    store.write_now(lambda t: [t.put(r) for r in (a, b, c)])
    assert {v.id for v in store.scan(Volume, "p")} == {a.id, c.id}
    assert len(store.scan(Volume)) == 3
    assert store.scan(Snapshot, "p") == []


async def test_failed_write_changes_nothing(store: Store) -> None:
    vol = Volume(project="p")

    def boom(t):  # type: ignore[no-untyped-def]
        t.put(vol)
        raise ValueError("checked after writing")

    with pytest.raises(ValueError):
        await store.write(boom)
    assert store.get(Volume, "p", vol.id) is None


async def test_records_survive_reopen(tmp_path: Path) -> None:
    s = Store(tmp_path / "r")
    vol = Volume(project="p", status="deleting")
    await s.write(lambda t: t.put(vol))
    s.close()
    s2 = Store(tmp_path / "r")
    try:
        assert s2.get(Volume, "p", vol.id).status == "deleting"
    finally:
        s2.close()


def test_closed_store_refuses(tmp_path: Path) -> None:
    s = Store(tmp_path / "r")
    s.close()
    with pytest.raises(BackendError):
        s.scan(Volume)
