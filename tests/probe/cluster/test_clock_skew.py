"""One host's clock 30 s ahead: a second proxy on host 2 (``proxy.test_clock_offset``, a
test-only knob) beside host 1's, both from host 1's configuration (one identity store).

Concurrent overwrites through both end, on every replica after one replication pass,
with the write of the newest TIMESTAMP, which is the skewed proxy's even when the other
proxy's write came later by the wall clock (Swift's last-writer-wins by timestamp). The
checker judges by the recorded timestamps (tests/probe/cluster/clockskew.py); judged by
wall-clock order it reports violations. docs/consistency.md, "Clock skew".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from stratus.config import TEST_HOOKS_ENV
from tests.helpers.hosts import HostCluster
from tests.probe.cluster.scenario import WORKLOAD

SKEW = 30.0
CLOCK = "tests.probe.cluster.clockskew"


def _report(text: str, key: str) -> dict[str, Any]:
    lines = [line for line in text.splitlines() if line.startswith(f'{{"{key}"')]
    assert lines, text
    return json.loads(lines[-1])[key]


def _verify(hosts: HostCluster, state: Path, auth: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", WORKLOAD, "verify", "--auth", auth, "--key", hosts.admin_key]
    argv += ["--state", str(state), "--config", str(hosts.hosts[0].config)]
    done = hosts.run_ns(hosts.client_ns, argv, check=False, timeout=120)
    return _report(done.stdout + done.stderr[-2000:], "verify")


@pytest.mark.slow
def test_newest_timestamp_wins_with_one_clock_ahead(hosts: HostCluster, tmp_path: Path) -> None:
    second = hosts.hosts[1]
    hosts.start_proxy(second, {TEST_HOOKS_ENV: "1", "STRATUS_PROXY_TEST_CLOCK_OFFSET": str(SKEW)})
    try:
        auth_b = f"http://{second.address}:8080/auth/v1.0"
        runs = {}
        for order in ("timestamp", "wall"):
            state = tmp_path / f"{order}.json"
            argv = [sys.executable, "-m", CLOCK, "--auth-a", hosts.auth_url]
            argv += ["--auth-b", auth_b, "--key", hosts.admin_key, "--state", str(state)]
            argv += ["--order", order, "--container", f"clock-{order}"]
            out = hosts.run_in_client(argv, timeout=180)
            runs[order] = (_report(out, "clock"), state)
        hosts.replicate()
        verified = {o: _verify(hosts, state, hosts.auth_url) for o, (_, state) in runs.items()}
        via_b = _verify(hosts, runs["timestamp"][1], auth_b)
    finally:
        hosts.stop_proxy(second)
    clock = runs["timestamp"][0]
    print(json.dumps({"clock": clock, "verify": verified, "verify_via_B": via_b}))
    # The skewed proxy's timestamps ran ahead, and its writes won every key, also where
    # the other proxy wrote later by the wall clock.
    assert SKEW - 2 < clock["skew_seconds"] < SKEW + 2, clock
    assert clock["ties"] == 0, clock  # every key's newest write is known exactly
    assert clock["winners_by_proxy"] == {"A": 0, "B": 12}, clock
    # Judged by timestamp: nothing lost or stale, through either proxy, on every replica.
    for report in (verified["timestamp"], via_b):
        assert report["violations"] == 0 and report["settled"] == 12, report
        assert report["replicas_checked"] == 12 * hosts.replicas, report
    # Judged by wall-clock order, every key looks stale (its read and each replica): the
    # checker can tell.
    assert runs["wall"][0]["winners_by_proxy"] == {"A": 12, "B": 0}
    assert verified["wall"]["violations"] == 12 * (1 + hosts.replicas), verified["wall"]
    # A DELETE stamped older than the object it names changes nothing, and is not
    # acknowledged as a delete (Swift's object server answers 409 there).
    deleted = clock["delete_older"]
    assert deleted["put"] == 201 and deleted["get_after"] == 200, deleted
    assert deleted["delete"] == 409, deleted
    # Expiry is judged by the reading proxy's clock: an X-Delete-At between the two clocks
    # is past for B (refused at PUT, and the object already reads 404 there) and future for A.
    expiry = clock["expiry"]
    assert expiry == {"put_via_A": 201, "put_via_B": 400, "get_via_A": 200, "get_via_B": 404}
