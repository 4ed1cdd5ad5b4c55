"""Probe tests on hosts with their own addresses (network namespaces), built as README says.

One cluster of three hosts (3 replicas; host 1 runs the proxy) serves the
scenarios in turn; each runs the checker's load from the client namespace
while it injects its fault, heals it, runs one replication pass on every host
and then verifies the whole history (tests/probe/cluster/workload.py):
nothing acknowledged lost or stale, every replica of every settled key in
agreement, no deleted object back. docs/consistency.md states these promises.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.helpers.hosts import Host, HostCluster
from tests.probe.cluster.scenario import (
    WORKLOAD,
    assert_kept_promises,
    common_args,
    run_scenario,
    window,
)


@pytest.mark.slow
def test_partition_of_one_host_under_mixed_load(hosts: HostCluster, tmp_path: Path) -> None:
    victim = hosts.hosts[2]
    fault = window(4, 12, lambda: hosts.cut(victim), lambda: hosts.heal(victim))
    assert_kept_promises(run_scenario(hosts, tmp_path, "cut-one", fault))


@pytest.mark.slow
def test_proxy_partitioned_from_the_majority(hosts: HostCluster, tmp_path: Path) -> None:
    """Host 1 (proxy and a node) alone on one side: writes lack a quorum and fail, none lies."""
    first, rest = hosts.hosts[:1], hosts.hosts[1:]
    fault = window(4, 10, lambda: hosts.partition(first, rest), hosts.heal)
    report = run_scenario(hosts, tmp_path, "proxy-minority", fault)
    assert_kept_promises(report)


@pytest.mark.slow
def test_one_way_link_loss_and_kill9_restarts(hosts: HostCluster, tmp_path: Path) -> None:
    """Host 2 loses only its inbound traffic, then every node is killed and restarted in turn."""
    events: list[str] = []

    def fault(t: float) -> None:
        h2 = hosts.hosts[1]
        if 2 <= t < 6 and "cut" not in events:
            hosts.cut(h2, outbound=False)
            events.append("cut")
        elif t >= 6 and "heal" not in events:
            hosts.heal(h2)
            events.append("heal")
        for i, at in enumerate((7.0, 10.0, 13.0)):
            host = hosts.hosts[i]
            if t >= at and f"kill{i}" not in events:
                host.node.kill9()
                events.append(f"kill{i}")
            if t >= at + 1.0 and f"kill{i}" in events and f"start{i}" not in events:
                hosts.start_node(host)
                events.append(f"start{i}")

    report = run_scenario(hosts, tmp_path, "one-way-and-restarts", fault, seconds=20.0)
    assert {"heal", "start0", "start1", "start2"} <= set(events), events
    assert_kept_promises(report)


def test_the_checker_finds_a_planted_violation(hosts: HostCluster, tmp_path: Path) -> None:
    """One replica of one settled key tombstoned behind the cluster's back: verify must say so."""
    planted: dict[str, Any] = {}

    def plant(state: Path) -> None:
        out = hosts.python_in_client(
            WORKLOAD, "plant", *common_args(hosts, state), "--config", str(hosts.hosts[0].config)
        )
        planted.update(json.loads(out.strip().splitlines()[-1])["planted"])

    report = run_scenario(
        hosts, tmp_path, "planted", lambda t: None, seconds=4, before_verify=plant
    )
    assert report["violations"] >= 1, report
    assert any(planted["key"] in p and "holds None" in p for p in report["problems"]), report


@pytest.mark.slow
def test_a_flapping_link(hosts: HostCluster, tmp_path: Path) -> None:
    """Host 3's link goes down and up every second for ten seconds under load."""
    victim = hosts.hosts[2]
    flips: list[bool] = []

    def fault(t: float) -> None:
        down = 2 <= t < 12 and int(t) % 2 == 0
        if down and not (flips and flips[-1]):
            hosts.cut(victim)
            flips.append(True)
        elif not down and flips and flips[-1]:
            hosts.heal(victim)
            flips.append(False)

    report = run_scenario(hosts, tmp_path, "flapping", fault)
    assert flips.count(True) >= 4, flips  # the link really went down again and again
    assert_kept_promises(report)


@pytest.mark.slow
def test_proxy_restarts_under_load(hosts: HostCluster, tmp_path: Path) -> None:
    """The proxy is restarted twice under load: once gracefully (SIGTERM), once by kill -9.
    Requests cut off fail or are retried; none that was answered 2xx is lost or stale."""
    first = hosts.hosts[0]
    assert first.proxy is not None
    proxy = first.proxy
    events: list[str] = []

    def fault(t: float) -> None:
        if t >= 4 and "graceful" not in events:
            hosts.restart(proxy, first, 8080, "/info")
            events.append("graceful")
        elif t >= 9 and "kill9" not in events:
            proxy.kill9()
            proxy.start()
            hosts.wait_ready(first, 8080, "/info")
            events.append("kill9")

    report = run_scenario(hosts, tmp_path, "proxy-restarts", fault)
    assert events == ["graceful", "kill9"], events
    assert_kept_promises(report)


@pytest.mark.slow
def test_a_wiped_host_rejoins(hosts: HostCluster, tmp_path: Path) -> None:
    """Host 3 dies, its disks are replaced empty (README: wipe before rejoining), it comes back
    under load; after one replication pass every replica holds every settled key again."""
    victim = hosts.hosts[2]
    events: list[str] = []

    def fault(t: float) -> None:
        if t >= 3 and "wiped" not in events:
            victim.node.kill9()
            devices = victim.root / "nodes"
            assert devices.is_dir(), list(victim.root.iterdir())
            shutil.rmtree(devices)
            events.append("wiped")
        elif t >= 6 and "started" not in events:
            hosts.start_node(victim)
            events.append("started")

    report = run_scenario(hosts, tmp_path, "wiped", fault)
    assert events == ["wiped", "started"], events
    assert_kept_promises(report)


def _answered_507(c: HostCluster, host: Host) -> int:
    """PUTs ``host``'s node answered 507 since it started (its /metrics)."""
    script = (
        "import sys,urllib.request;"
        "sys.stdout.write(urllib.request.urlopen(sys.argv[1],timeout=5).read().decode())"
    )
    text = c.run_in_client([sys.executable, "-c", script, f"http://{host.address}:6200/metrics"])
    found = re.findall(r"^stratus_node_requests_total\{([^}]*)\} (\S+)$", text, flags=re.M)
    return int(sum(float(n) for labels, n in found if 'status="507"' in labels and "PUT" in labels))


@pytest.mark.slow
def test_a_full_device(hosts: HostCluster, tmp_path: Path) -> None:
    """Host 3's device fills up under load (storage.reserve_bytes above its free space): it
    answers 507 and the proxy writes to handoffs; once it has room again, one replication
    pass puts every replica where the ring says."""
    victim = hosts.hosts[2]
    normal = victim.config.read_text()
    doc = tomllib.loads(normal)
    doc["storage"]["reserve_bytes"] = 1 << 60  # more than any disk has free
    full = tomli_w.dumps(doc)
    seen: dict[str, int] = {}

    def fault(t: float) -> None:
        if t >= 2 and "full" not in seen:
            victim.config.write_text(full)
            hosts.restart(victim.node, victim, 6200, "/healthcheck")
            seen["full"] = 1
        elif t >= 10 and "freed" not in seen:
            seen["507"] = _answered_507(hosts, victim)
            victim.config.write_text(normal)
            hosts.restart(victim.node, victim, 6200, "/healthcheck")
            seen["freed"] = 1

    try:
        report = run_scenario(hosts, tmp_path, "full-device", fault)
    finally:
        victim.config.write_text(normal)
    assert seen.get("507", 0) > 10, seen  # the device really refused writes
    assert_kept_promises(report)


def _seconds_to_reach(c: HostCluster, host: Host) -> float:
    """How long ``GET /healthcheck`` on ``host``'s node takes from the client namespace."""
    script = (
        "import sys,time,urllib.request;t=time.monotonic();"
        "urllib.request.urlopen(sys.argv[1],timeout=10).read();"
        "print(time.monotonic()-t)"
    )
    url = f"http://{host.address}:6200/healthcheck"
    return float(c.run_in_client([sys.executable, "-c", script, url]).strip())


@pytest.mark.slow
def test_a_slow_link(hosts: HostCluster, tmp_path: Path) -> None:
    """Host 3 is 0.3 s away each way (a delaying relay) for most of the load: requests wait
    for it or go on without it, and nothing acknowledged is lost or stale."""
    victim = hosts.hosts[2]
    reach: dict[str, float] = {}

    def on() -> None:
        hosts.slow(victim, 0.3)
        reach["slow"] = _seconds_to_reach(hosts, victim)

    fault = window(2, 11, on, lambda: hosts.heal(victim))
    report = run_scenario(hosts, tmp_path, "slow-link", fault)
    reach["healed"] = _seconds_to_reach(hosts, victim)
    assert reach["slow"] >= 0.6 > reach["healed"], reach  # the link really was slow
    assert_kept_promises(report)
