from __future__ import annotations

from array import array

from ring import Device
from ring.report import MAX_BALANCE, balance_of, device_counts, device_stats, dispersion_of
from ring.targets import Topology


def _topo() -> Topology:
    devs = [
        Device(0, 1, 1, "10.0.1.1", 1, "a", 1),
        Device(1, 1, 1, "10.0.1.1", 1, "b", 1),
        Device(2, 1, 2, "10.0.2.1", 1, "c", 1),
        Device(3, 1, 3, "10.0.3.1", 1, "d", 1),
    ]
    return Topology(devs, 4, 2)


def test_dispersion_counts_partitions_sharing_a_domain_needlessly() -> None:
    topo = _topo()
    # partitions: (0,2) fine, (0,1) same zone and node, (2,3) fine, (3,0) fine
    table = [array("H", [0, 0, 2, 3]), array("H", [2, 1, 3, 0])]
    total, by_tier = dispersion_of(topo, table)
    assert total == 1
    assert by_tier == {"region": 0, "zone": 1, "node": 1, "device": 0}


def test_balance_is_worst_deviation_from_weighted_share() -> None:
    topo = _topo()
    table = [array("H", [0, 0, 2, 3]), array("H", [2, 1, 3, 0])]
    stats = device_stats(topo, device_counts(table))
    # share is 2 each; device 0 holds 3 (+50%), device 1 holds 1 (-50%)
    assert stats[0]["balance"] == 50.0 and stats[1]["balance"] == -50.0
    assert balance_of(stats) == 50.0


def test_weightless_device_holding_replicas_reads_max_balance() -> None:
    devs = [Device(i, 1, i, f"10.0.0.{i}", 1, "d", 0 if i == 3 else 1) for i in range(4)]
    topo = Topology(devs, 2, 2)
    stats = device_stats(topo, device_counts([array("H", [0, 1]), array("H", [3, 2])]))
    assert stats[3]["balance"] == MAX_BALANCE
