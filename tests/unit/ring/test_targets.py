from __future__ import annotations

import math

import pytest

from ring import Device, RingBuilderError
from ring.targets import Topology, sticky_round, waterfill


def _devs(specs: list[tuple[int, int, str, float]]) -> list[Device]:
    return [Device(i, r, z, ip, 6200, f"d{i}", w) for i, (r, z, ip, w) in enumerate(specs)]


def test_waterfill_is_proportional_when_unbounded() -> None:
    got = waterfill(60, [1, 2, 3], [0, 0, 0], [math.inf] * 3)
    assert got == pytest.approx([10, 20, 30])


def test_waterfill_respects_bounds_and_total() -> None:
    got = waterfill(30, [10, 1, 1], [0, 0, 0], [10, 10, 10])
    assert got == pytest.approx([10, 10, 10])
    got = waterfill(30, [10, 1, 1], [0, 8, 0], [12, 100, 100])
    assert sum(got) == pytest.approx(30)
    assert got[0] == pytest.approx(12) and got[1] >= 8


def test_sticky_round_keeps_current_counts_when_it_can() -> None:
    shares = [10.5, 10.5]
    assert sticky_round(21, shares, [0, 0], [math.inf] * 2, [10, 11]) == [10, 11]
    assert sticky_round(21, shares, [0, 0], [math.inf] * 2, [11, 10]) == [11, 10]
    assert sum(sticky_round(100, [33.3, 33.3, 33.4], [0] * 3, [50] * 3, [0] * 3)) == 100


def test_targets_follow_weight_when_domains_allow() -> None:
    devs = _devs([(1, z, f"10.0.{z}.1", w) for z, w in enumerate([1, 2, 3, 2, 1, 3])])
    topo = Topology(devs, 1024, 3)
    share = topo.weighted_share()
    for d in devs:
        assert abs(topo.target_dev[d.id] - share[d.id]) <= 1
    assert sum(topo.target_dev) == 3 * 1024


def test_a_heavy_zone_is_capped_at_one_replica_per_partition() -> None:
    devs = _devs([(1, 0, "a", 10), (1, 1, "b", 1), (1, 2, "c", 1), (1, 3, "d", 1)])
    topo = Topology(devs, 64, 3)
    assert topo.target_dev[0] == 64  # not 3 * 64 * 10 / 13
    assert topo.floor[3][0] == 1  # so every partition has a replica there
    assert sum(topo.target_dev) == 192


def test_too_few_domains_means_every_domain_in_every_partition() -> None:
    devs = _devs([(1, 0, "a", 100), (1, 0, "b", 100), (1, 1, "c", 1)])
    topo = Topology(devs, 64, 3)
    zone_c = topo.dom[1][2]
    assert topo.target[1][zone_c] == 64
    assert topo.cap[1][topo.dom[1][0]] == 2


def test_zero_weight_devices_get_nothing_and_too_few_devices_fail() -> None:
    devs = _devs([(1, 0, "a", 1), (1, 1, "b", 1), (1, 2, "c", 1), (1, 3, "d", 0)])
    topo = Topology(devs, 16, 3)
    assert topo.target_dev[3] == 0 and 3 not in topo.active
    with pytest.raises(RingBuilderError, match="at least 3 devices"):
        Topology(devs[:2] + devs[3:], 16, 3)
