"""Quota and capacity checks, counted from the records in the same transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.backend import BackendStats
from blockstore.manager import quotas
from blockstore.manager.errors import NoCapacity, OverQuota
from blockstore.manager.records import QuotaSet, Snapshot, Volume
from blockstore.manager.store import Store

GiB = 1024**3
DEFAULTS = {"volumes": 2, "gigabytes": 10, "snapshots": 1, "backups": 1, "backup_gigabytes": 5}


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "records")
    yield s
    s.close()


def test_usage_counts_volumes_snapshots_and_pending_extends(store: Store) -> None:
    store.write_now(lambda t: t.put(Volume(project="p", size=2, extend_to=5)))
    store.write_now(lambda t: t.put(Snapshot(project="p", size=2)))
    store.write_now(lambda t: t.put(Volume(project="q", size=7)))
    used = store.read(lambda t: quotas.usage(t, "p"))
    assert used["volumes"] == 1 and used["snapshots"] == 1
    assert used["gigabytes"] == 7  # the extend's target size counts, and the snapshot


def test_over_quota_message_names_the_numbers(store: Store) -> None:
    store.write_now(lambda t: t.put(Volume(project="p", size=8)))
    with pytest.raises(OverQuota, match="Requested 3G, quota is 10G and 8G has been consumed"):
        store.read(lambda t: quotas.check(t, "p", DEFAULTS, {"gigabytes": 3}))
    store.read(lambda t: quotas.check(t, "p", DEFAULTS, {"gigabytes": 2}))


def test_overrides_and_unlimited(store: Store) -> None:
    store.write_now(lambda t: [t.put(Volume(project="p", size=1)) for _ in range(2)])
    with pytest.raises(OverQuota, match="volumes"):
        store.read(lambda t: quotas.check(t, "p", DEFAULTS, {"volumes": 1}))
    store.write_now(lambda t: t.put(QuotaSet(id="p", limits={"volumes": -1})))
    store.read(lambda t: quotas.check(t, "p", DEFAULTS, {"volumes": 1}))


def test_thin_capacity_uses_the_over_subscription_ratio(store: Store) -> None:
    stats = BackendStats(total=10 * GiB, free=10 * GiB, allocated=0)
    rules = quotas.CapacityRules(ratio=2.0, reserved_percentage=0)
    store.write_now(lambda t: t.put(Volume(project="a", size=15)))
    store.read(lambda t: quotas.check_capacity(t, stats, rules, 5, thick=False))
    with pytest.raises(NoCapacity):
        store.read(lambda t: quotas.check_capacity(t, stats, rules, 6, thick=False))


def test_thick_needs_free_space(store: Store) -> None:
    stats = BackendStats(total=100 * GiB, free=3 * GiB, allocated=0)
    rules = quotas.CapacityRules(ratio=20.0, reserved_percentage=0)
    store.read(lambda t: quotas.check_capacity(t, stats, rules, 50, thick=False))
    with pytest.raises(NoCapacity, match="thick"):
        store.read(lambda t: quotas.check_capacity(t, stats, rules, 4, thick=True))
