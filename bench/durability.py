"""Background durability work: how fast nodes repair and check, with pacing off.

    .venv/bin/python bench/durability.py [--small N] [--large N] [--large-mib M]

Starts three `python -m objectstore.node` processes (one device each, fsync
on, 3 replicas, rings on disk) with the replicators, auditor and expirer
unpaced and idle until asked. Writes ``--small`` 4 KiB objects and
``--large`` bodies of ``--large-mib`` MiB to ONE primary each (as if the
other two had been down), then times:

- a replication pass on all nodes (objects pushed per second, MB/s);
- a second pass with nothing to do (the cost of comparing suffix hashes);
- after wiping one node's device, the pass that refills it;
- an auditor pass on one node (MB/s of bodies read and checked).

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from objectstore.client import NodeClient, NodeUnavailable  # noqa: E402
from objectstore.timestamp import Timestamp  # noqa: E402
from ring import Ring, build_cluster_rings  # noqa: E402

PREFIX, SUFFIX = "bench-p", "bench-s"


def _free_ports(n: int) -> int:
    import socket

    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        socks = []
        try:
            for p in range(base, base + n):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free ports")


def _config(workdir: Path, base: int) -> Path:
    path = workdir / "stratus.toml"
    path.write_text(
        f"""
[data]
dir = "{workdir / "data"}"
[cluster]
hash_path_prefix = "{PREFIX}"
hash_path_suffix = "{SUFFIX}"
[storage]
nodes = 3
base_port = {base}
[durability]
replicator_interval = 86400.0
auditor_interval = 86400.0
expirer_interval = 86400.0
reclaim_age = 864000.0
replicator_bytes_per_second = 0.0
replicator_items_per_second = 0.0
auditor_bytes_per_second = 0.0
auditor_files_per_second = 0.0
"""
    )
    return path


def _start(cfg: Path, i: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "objectstore.node", "--config", str(cfg), "--node", str(i)]
    return subprocess.Popen([*argv, "--log-level", "WARNING"], cwd=ROOT)


async def _ready(client: NodeClient, dev) -> None:
    for _ in range(400):
        try:
            await client.healthcheck(dev)
            return
        except NodeUnavailable:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"node {dev.port} did not start")


async def _pass(client: NodeClient, devs, workers: list[str]) -> tuple[float, list[dict]]:
    t0 = time.perf_counter()
    results = await asyncio.gather(*(client.replicate_now(d, workers, 3600) for d in devs))
    return time.perf_counter() - t0, results


def _sum(results: list[dict], worker: str, field: str) -> int:
    return sum(int(r[worker]["last"].get(field, 0)) for r in results)


async def run(args: argparse.Namespace, workdir: Path) -> dict:
    base = _free_ports(3)
    cfg = _config(workdir, base)
    ring_dir = workdir / "data" / "rings"
    build_cluster_rings(
        ring_dir, [("127.0.0.1", base + i, ["d0"]) for i in range(3)], part_power=10, replicas=3
    )
    ring = Ring(ring_dir / "object.ring", hash_path_prefix=PREFIX, hash_path_suffix=SUFFIX)
    procs = [_start(cfg, i) for i in range(3)]
    session = NodeClient.make_session()
    client = NodeClient(session, node_timeout=3600)
    out: dict = {"small_objects": args.small, "large_objects": args.large}
    try:
        devs = [next(d for d in ring.devices if d.port == base + i) for i in range(3)]
        for d in devs:
            await _ready(client, d)
        small, large = os.urandom(4096), os.urandom(args.large_mib << 20)
        sem = asyncio.Semaphore(64)

        async def put(name: str, body: bytes) -> None:
            part, primaries = ring.get_nodes("AUTH_b", "c", name)
            async with sem:
                await client.put_object(
                    primaries[0], part, "AUTH_b", "c", name, timestamp=Timestamp.now(),
                    body=body, content_length=len(body), content_type="x", metadata={},
                    container_update=None,
                )  # fmt: skip

        await asyncio.gather(*(put(f"s{i}", small) for i in range(args.small)))
        await asyncio.gather(*(put(f"l{i}", large) for i in range(args.large)))
        total_mb = (args.small * len(small) + args.large * len(large)) * 2 / 1e6

        seconds, results = await _pass(client, devs, ["object"])
        pushed = _sum(results, "object-replicator", "pushed")
        out["replicate_missing"] = {
            "seconds": round(seconds, 3),
            "entries_pushed": pushed,
            "entries_per_s": round(pushed / seconds, 1),
            "MB_per_s": round(total_mb / seconds, 1),
        }
        seconds, results = await _pass(client, devs, ["object"])
        out["replicate_in_sync"] = {
            "seconds": round(seconds, 3),
            "partitions_compared": _sum(results, "object-replicator", "partitions"),
            "entries_pushed": _sum(results, "object-replicator", "pushed"),
        }
        procs[2].terminate()
        procs[2].wait(30)
        shutil.rmtree(workdir / "data" / "nodes" / "node2" / "d0")
        procs[2] = _start(cfg, 2)
        await _ready(client, devs[2])
        seconds, results = await _pass(client, devs, ["object"])
        pushed = _sum(results, "object-replicator", "pushed")
        out["refill_wiped_device"] = {
            "seconds": round(seconds, 3),
            "entries_pushed": pushed,
            "entries_per_s": round(pushed / seconds, 1),
            "MB_per_s": round(total_mb / 2 / seconds, 1),
        }
        t0 = time.perf_counter()
        result = await client.replicate_now(devs[0], ["auditor"], 3600)
        seconds = time.perf_counter() - t0
        audited = result["auditor"]["last"]
        out["audit_one_node"] = {
            "seconds": round(seconds, 3),
            "objects": audited["checked"],
            "MB_per_s": round(audited["bytes"] / 1e6 / seconds, 1),
            "quarantined": audited["quarantined"],
        }
    finally:
        await session.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", type=int, default=3000, help="4 KiB objects")
    ap.add_argument("--large", type=int, default=20, help="large objects")
    ap.add_argument("--large-mib", type=int, default=8, help="size of a large object (MiB)")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="stratus-bench-durability-"))
    try:
        result = asyncio.run(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
