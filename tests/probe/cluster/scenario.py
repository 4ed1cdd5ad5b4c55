"""One probe scenario: the checker's load with a fault injected, heal, one replication pass,
verify (tests/probe/cluster/workload.py; the promises are docs/consistency.md's)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers.hosts import HostCluster

WORKLOAD = "tests.probe.cluster.workload"
LOAD_SECONDS = 14.0


def common_args(c: HostCluster, state: Path) -> list[str]:
    return ["--auth", c.auth_url, "--key", c.admin_key, "--state", str(state)]


def run_scenario(
    c: HostCluster,
    tmp_path: Path,
    name: str,
    fault: Callable[[float], None],
    *,
    seconds: float = LOAD_SECONDS,
    before_verify: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Load for ``seconds`` with ``fault(elapsed)`` called every 0.5 s; heal; one pass; verify."""
    state = tmp_path / "state.json"
    load = c.spawn_python_in_client(
        WORKLOAD,
        "load",
        *common_args(c, state),
        "--container",
        name,
        "--seconds",
        str(seconds),
        log=tmp_path / "load.log",
    )
    started = time.monotonic()
    try:
        while load.alive and time.monotonic() - started < seconds + 60:
            fault(time.monotonic() - started)
            time.sleep(0.5)
        assert load.proc is not None and load.proc.wait(timeout=60) == 0, load.tail()
    finally:
        load.stop()
        c.heal()
    for host in c.hosts:
        if not host.node.alive:
            c.start_node(host)
    if c.hosts[0].proxy is not None and not c.hosts[0].proxy.alive:
        c.restart(c.hosts[0].proxy, c.hosts[0], 8080, "/info")
    loaded = json.loads(load.tail(1))["load"]
    loaded["load_problems"] = loaded.pop("problems")
    healed = time.monotonic()
    c.replicate()
    replication = round(time.monotonic() - healed, 2)
    if before_verify is not None:
        before_verify(state)
    verified = _verify(c, state)
    report = {"scenario": name, "replication_seconds": replication, **loaded, **verified}
    print(json.dumps(report))
    return report


def _verify(c: HostCluster, state: Path) -> dict[str, Any]:
    argv = [sys.executable, "-m", WORKLOAD, "verify", *common_args(c, state)]
    # Exit status 1 means violations: the report is on stdout either way, read whole.
    done = c.run_ns(
        c.client_ns, [*argv, "--config", str(c.hosts[0].config)], check=False, timeout=120
    )
    text = done.stdout + done.stderr[-2000:]
    reports = [line for line in text.splitlines() if line.startswith('{"verify"')]
    assert reports, text
    return json.loads(reports[-1])["verify"]


def assert_kept_promises(report: dict[str, Any]) -> None:
    assert report["lost"] == 0 and report["stale"] == 0, report
    assert report["violations"] == 0, report
    assert report["settled"] > 0 and report["ops"] > 50, report


def window(start: float, stop: float, on: Callable[[], None], off: Callable[[], None]):
    """A fault ``on`` from ``start`` s into the load until ``stop`` s, then ``off``."""
    active = {"on": False}

    def fault(t: float) -> None:
        if start <= t < stop and not active["on"]:
            on()
            active["on"] = True
        elif t >= stop and active["on"]:
            off()
            active["on"] = False

    return fault
