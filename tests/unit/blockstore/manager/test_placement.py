"""The scheduler: type filter, capacity filter and weigher, same-backend copies, names."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.backend import BackendStats
from blockstore.manager import placement
from blockstore.manager.quotas import CapacityRules
from blockstore.manager.records import Snapshot, Volume, VolumeType
from blockstore.manager.store import Store

GiB = 1024**3
A = placement.BackendState("a", "h1@a#a", True, BackendStats(10 * GiB, 10 * GiB, 0))
B = placement.BackendState("b", "h2@b#b", True, BackendStats(6 * GiB, 6 * GiB, 0))
DOWN = placement.BackendState("c", "h3@c#c", False, None)
RULES = CapacityRules(ratio=1.0)
PLAIN = VolumeType(name="plain")


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "records")
    yield s
    s.close()


def choose(store: Store, size: int, vtype: VolumeType = PLAIN, **kw) -> str | None:  # type: ignore[no-untyped-def]
    got = store.read(lambda t: placement.choose(t, [A, B, DOWN], vtype, size, RULES, **kw))
    return None if got is None else got.name


def test_most_free_capacity_wins_counting_volumes_and_their_snapshots(store: Store) -> None:
    assert choose(store, 1, thick=False) == "a"
    vol = Volume(project="p", size=4, host=A.host)
    store.write_now(lambda t: t.put(vol))
    store.write_now(lambda t: t.put(Snapshot(project="p", size=2, volume_id=vol.id)))
    assert choose(store, 1, thick=False) == "b"  # a: 4G left, b: 6G
    assert choose(store, 7, thick=False) is None


def test_type_and_source_filters(store: Store) -> None:
    on_b = VolumeType(name="x", extra_specs={"volume_backend_name": "b"})
    assert choose(store, 1, on_b, thick=False) == "b"
    assert choose(store, 7, on_b, thick=False) is None
    nowhere = VolumeType(name="y", extra_specs={"volume_backend_name": "c"})  # down
    assert choose(store, 1, nowhere, thick=False) is None
    assert choose(store, 1, thick=False, same_as=B.host) == "b"


def test_thick_needs_real_free_space(store: Store) -> None:
    full = placement.BackendState("a", A.host, True, BackendStats(10 * GiB, 1 * GiB, 9 * GiB))
    got = store.read(lambda t: placement.choose(t, [full], PLAIN, 2, RULES, thick=True))
    assert got is None
    got = store.read(lambda t: placement.choose(t, [full], PLAIN, 2, RULES, thick=False))
    assert got is full


def test_names() -> None:
    assert placement.host_name("h", "a") == "h@a#a"
    assert placement.backend_of("h@a#a") == "a" and placement.backend_of("") == ""
    for ref in ("h1@a#a", "h1@a", "a"):
        assert placement.find([A, B], ref) is A
    assert placement.find([A, B], "h1@z#z") is None
