"""A cluster of hosts with their own addresses: how fast it heals, how fast a ring travels.

    .venv/bin/python bench/cluster.py                 # 3 hosts, 20,000 objects per heal
    .venv/bin/python bench/cluster.py --quick         # 2,000 objects, one round each

Built by the probe tests' harness (``tests/helpers/hosts.py``): three network namespaces with
their own addresses on a bridge, set up exactly as README's multi-machine section says, the
load generator in a client namespace. Needs root (namespaces, nftables). One JSON document on
stdout; progress on stderr; everything it made is removed on exit, on error too.

- ``healthy_writes``: the same writes with every host reachable, for comparison.
- ``heal``: one host's link is cut (nftables, both ways) while ``--objects`` 4 KiB objects are
  written (2 of 3 replicas acknowledge each); the link comes back and one replication pass runs
  on every host at once (``stratus node replicate --once``). Reported: the pass's seconds and
  the objects restored per second, with the pushed counts from the nodes' own reports. Each
  round cuts another host than the proxy's.
- ``ring_push``: an operator's rebalance on host 1 (a device's weight changed), then
  ``stratus ring push``; the seconds until every host's node serves the new version (asked
  from the client namespace), and the command's own wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

from _launch import emit  # noqa: E402
from loadgen import Phase, SwiftApi, run_phase  # noqa: E402

# The bench runs the passes; the workers only keep quiet in between.
TUNING = {
    "durability": {"replicator_interval": 3600.0, "auditor_interval": 3600.0},
    "proxy": {"node_timeout": 3.0},
}


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------- in the client namespace
async def _fill(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        api = await SwiftApi.login(session, args.auth, args.user, args.key)
        if not args.count:  # the container alone, made before any fault
            await api.create_container(args.container)
            return {"ops": 0}
        keys = [f"o/{i:08d}" for i in range(args.count)]
        phase = Phase(
            workload="small",
            op="put",
            container=args.container,
            size=4096,
            concurrency=args.concurrency,
            keys=keys,
        )
        result = await run_phase(api, phase, [])
        result.pop("_keys", None)
        return result


# --------------------------------------------------------------- on the host
def _median(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "all": [round(v, 3) for v in values],
    }


def _pushed(report: dict[str, Any]) -> int:
    """Entries the nodes' object replicators pushed in the pass (their own count)."""
    total = 0
    for per_node in report.values():
        for worker, state in per_node.items():
            if worker.startswith("object") and isinstance(state, dict):
                total += int(state.get("last", {}).get("pushed", 0) or 0)
    return total


def fill(c: Any, container: str, count: int, concurrency: int) -> dict[str, Any]:
    """``count`` 4 KiB PUTs from the client namespace; loadgen's figures."""
    out = c.run_in_client(
        [sys.executable, str(HERE / "cluster.py"), "fill", "--auth", c.auth_url,
         "--key", c.admin_key, "--container", container, "--count", str(count),
         "--concurrency", str(concurrency)],
        timeout=1800,
    )  # fmt: skip
    return json.loads(out)


def heal_round(c: Any, round_no: int, count: int, concurrency: int) -> dict[str, Any]:
    victim = c.hosts[1 + round_no % (len(c.hosts) - 1)]
    log(f"round {round_no}: host {victim.index} cut, writing {count} objects")
    fill(c, f"heal{round_no}", 0, 1)  # the container first: this measures object writes
    c.cut(victim)
    try:
        written = fill(c, f"heal{round_no}", count, concurrency)
    finally:
        c.heal(victim)
    first = c.hosts[0]
    started = time.monotonic()
    done = c.stratus(first, "node", "replicate", "--once", "--json", timeout=1800)
    seconds = time.monotonic() - started
    report = json.loads(done.stdout)
    stored = int(written["ops"])
    log(f"round {round_no}: one pass on every host took {seconds:.2f} s")
    return {
        "host_cut": victim.index,
        "objects_written": stored,
        "write_ops_per_s": written.get("ops_per_s"),
        "write_p99_ms": written.get("lat_ms", {}).get("p99"),
        "write_errors": written.get("errors"),
        "pass_seconds": round(seconds, 3),
        "objects_restored_per_s": round(stored / seconds, 1),
        "entries_pushed": _pushed(report),
    }


def ring_push_round(c: Any, round_no: int) -> dict[str, Any]:
    first = c.hosts[0]
    builder = str(first.root / "rings" / "object.builder")
    weight = "50" if round_no % 2 == 0 else "100"
    c.stratus(first, "ring", "set-weight", builder, str(len(c.hosts) - 1), weight)
    c.stratus(first, "ring", "pretend-min-part-hours-passed", builder)
    c.stratus(first, "ring", "rebalance", builder, check=False)
    started = time.monotonic()
    pushed = json.loads(c.stratus(first, "ring", "push", "--json").stdout)
    command = time.monotonic() - started
    serving = {h.index: c.node_stats(h)["rings"]["object"] for h in c.hosts}
    everywhere = time.monotonic() - started
    want = pushed["versions"]["object"]
    return {
        "version": want,
        "push_seconds": pushed.get("seconds"),
        "command_seconds": round(command, 3),
        "every_host_serving_after_s": round(everywhere, 3),
        "every_host_serving": all(v == want for v in serving.values()),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.helpers.hosts import host_cluster, netns_available

    why = netns_available()
    if why is not None:
        raise SystemExit(f"cluster bench: {why}")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="stratus-bench-cluster-") as tmp:
        t0 = time.monotonic()
        with host_cluster(Path(tmp), hosts=3, tuning=TUNING) as c:
            built = time.monotonic() - t0
            log(f"3 hosts up in {built:.1f} s")
            fill(c, "healthy", 0, 1)
            healthy = fill(c, "healthy", args.objects, args.concurrency)
            heals = [heal_round(c, r, args.objects, args.concurrency) for r in range(args.rounds)]
            pushes = [ring_push_round(c, r) for r in range(args.pushes)]
    return {
        "tool": "stratus-bench-cluster/1",
        "started": started,
        "hosts": 3,
        "replicas": 3,
        "cluster_built_s": round(built, 1),
        "healthy_writes": {k: healthy.get(k) for k in ("ops", "ops_per_s", "errors", "lat_ms")},
        "heal": {
            "rounds": heals,
            "pass_seconds": _median([h["pass_seconds"] for h in heals]),
            "objects_restored_per_s": _median([h["objects_restored_per_s"] for h in heals]),
        },
        "ring_push": {
            "rounds": pushes,
            "every_host_serving_after_s": _median(
                [p["every_host_serving_after_s"] for p in pushes]
            ),
            "command_seconds": _median([p["command_seconds"] for p in pushes]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    fill = sub.add_parser("fill", help="(internal) write objects from the client namespace")
    fill.add_argument("--auth", required=True)
    fill.add_argument("--user", default="admin:admin")
    fill.add_argument("--key", required=True)
    fill.add_argument("--container", required=True)
    fill.add_argument("--count", type=int, required=True)
    fill.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--objects", type=int, default=20000, help="objects written per heal round")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3, help="heal rounds")
    ap.add_argument("--pushes", type=int, default=3, help="ring pushes")
    ap.add_argument("--quick", action="store_true", help="2,000 objects, one round each")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.cmd == "fill":
        print(json.dumps(asyncio.run(_fill(args))))
        return 0
    if args.quick:
        args.objects, args.rounds, args.pushes = 2000, 1, 1
    try:
        doc = run(args)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"cluster bench: {exc}") from exc
    emit(doc, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
