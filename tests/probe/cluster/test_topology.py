"""Growing and shrinking the cluster under load, as an operator does it (README, docs/ring.md).

A fourth host joins while the checker's load runs: its node starts with no
rings, host 1 adds its device to the three builders, rebalances and pushes.
Then host 2 is drained (weight 0, rebalance, push) and removed from the rings,
also under load. After each step one replication pass runs on every host and
the checker verifies every replica the new rings name (promises in
docs/consistency.md). This file runs after the ring tests (file order): it
changes the cluster's shape for good.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.hosts import Host, HostCluster
from tests.probe.cluster.scenario import assert_kept_promises, run_scenario

RINGS = ("account", "container", "object")


def _builders(c: HostCluster) -> list[str]:
    return [str(c.hosts[0].root / "rings" / f"{name}.builder") for name in RINGS]


def _device_id(c: HostCluster, builder: str, host: Host) -> int:
    shown = json.loads(c.stratus(c.hosts[0], "ring", "show", builder, "--json").stdout)
    (dev,) = [d for d in shown["devices"] if d["ip"] == host.address]
    return int(dev["id"])


def _rebalance_and_push(c: HostCluster) -> dict:
    first = c.hosts[0]
    moved = {}
    for builder in _builders(c):
        c.stratus(first, "ring", "pretend-min-part-hours-passed", builder)
        report = json.loads(c.stratus(first, "ring", "rebalance", builder, "--json").stdout)
        moved[Path(builder).stem] = report["moved"]
    pushed = json.loads(c.stratus(first, "ring", "push", "--json").stdout)
    assert pushed["ok"], pushed
    return moved


@pytest.mark.slow
def test_a_host_added_under_load(hosts: HostCluster, tmp_path: Path) -> None:
    events: dict[str, object] = {}

    def fault(t: float) -> None:
        if t >= 2 and "added" not in events:
            new = hosts.add_host()
            for builder in _builders(hosts):
                hosts.stratus(
                    hosts.hosts[0], "ring", "add", builder, "--zone", str(new.index),
                    "--ip", new.address, "--port", "6200", "--device", "d0", "--weight", "100",
                )  # fmt: skip
            events["moved"] = _rebalance_and_push(hosts)
            events["added"] = new.index

    report = run_scenario(hosts, tmp_path, "grow", fault, seconds=8.0)
    assert events.get("added") == 4, events
    moved = events["moved"]
    assert isinstance(moved, dict) and all(n > 0 for n in moved.values()), moved
    assert_kept_promises(report)
    # The new host holds data now: its node reports objects on its device.
    stats = hosts.node_stats(hosts.hosts[3])
    assert stats["rings"]["object"] >= 2, stats["rings"]
    assert report["replicas_checked"] == 3 * report["settled"]


@pytest.mark.slow
def test_a_host_drained_and_removed_under_load(hosts: HostCluster, tmp_path: Path) -> None:
    if len(hosts.hosts) < 4:
        pytest.skip("needs the host the previous test added")
    leaving = hosts.hosts[1]
    events: list[str] = []

    def fault(t: float) -> None:
        if t >= 2 and "drained" not in events:
            for builder in _builders(hosts):
                dev = _device_id(hosts, builder, leaving)
                hosts.stratus(hosts.hosts[0], "ring", "set-weight", builder, str(dev), "0")
            _rebalance_and_push(hosts)
            events.append("drained")

    report = run_scenario(hosts, tmp_path, "drain", fault, seconds=8.0)
    assert events == ["drained"], events
    assert_kept_promises(report)

    # Drained and replicated: host 2 is nobody's primary, so it can leave the rings and stop.
    for builder in _builders(hosts):
        dev = _device_id(hosts, builder, leaving)
        hosts.stratus(hosts.hosts[0], "ring", "remove", builder, str(dev))
    _rebalance_and_push(hosts)
    leaving.node.stop()
    hosts.hosts.remove(leaving)
    (tmp_path / "after").mkdir()
    report = run_scenario(hosts, tmp_path / "after", "after-removal", lambda t: None, seconds=5)
    assert_kept_promises(report)
