"""Storage nodes alone (no proxy): what the node layer costs per operation.

    .venv/bin/python bench/node.py [--ops N] [--concurrency C] [--no-fsync] [--out FILE]

Starts three `python -m objectstore.node` processes (one device each, fsync
on unless told otherwise) on free loopback ports, then drives them through
NodeClient the way a proxy with 3 replicas would: every 4 KiB PUT goes to
all three nodes, each updating a container replica before answering; every
GET reads one replica. Prints one JSON document: ops/s, CPU milliseconds per
operation for each node and for the load generator, the nodes' group-commit
and update-batching counters, and 64 MiB PUT/GET MB/s on one node.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from objectstore.client import (  # noqa: E402
    AccountUpdate,
    ContainerUpdate,
    NodeClient,
    NodeUnavailable,
)
from objectstore.timestamp import Timestamp  # noqa: E402


@dataclass(frozen=True)
class Dev:
    ip: str
    port: int
    device: str


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


async def _phase(name, fn, ops: int, conc: int, procs) -> dict:
    todo = iter(range(ops))

    async def worker() -> None:
        for i in todo:
            await fn(i)

    node0 = [_cpu_seconds(p.pid) for p in procs]
    me0 = _self_cpu()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    dt = time.perf_counter() - t0
    node1 = [_cpu_seconds(p.pid) for p in procs]
    return {
        "op": name,
        "ops_per_s": round(ops / dt, 1),
        "node_cpu_ms_per_op": [
            round((b - a) * 1000 / ops, 3) for a, b in zip(node0, node1, strict=True)
        ],
        "client_cpu_ms_per_op": round((_self_cpu() - me0) * 1000 / ops, 3),
    }


async def run(args: argparse.Namespace, workdir: str) -> dict:
    procs, devs = [], []
    for i in range(3):
        port = _free_port()
        argv = [sys.executable, "-m", "objectstore.node", "--ip", "127.0.0.1"]
        argv += ["--port", str(port), "--devices-dir", f"{workdir}/n{i}", "--device", "d0"]
        argv += ["--hash-prefix", "p", "--hash-suffix", "s", "--log-level", "WARNING"]
        if args.no_fsync:
            argv.append("--no-fsync")
        procs.append(subprocess.Popen(argv, cwd=ROOT))
        devs.append(Dev("127.0.0.1", port, "d0"))
    session = NodeClient.make_session()
    client = NodeClient(session)
    try:
        for dev in devs:
            for _ in range(200):
                try:
                    await client.healthcheck(dev)
                    break
                except NodeUnavailable:
                    await asyncio.sleep(0.05)
            await client.put_container(
                dev,
                0,
                "AUTH_b",
                "c",
                timestamp=Timestamp.now(),
                account_update=AccountUpdate(dev, 0),
            )
        body = os.urandom(4096)

        async def put(i: int) -> None:
            ts = Timestamp.now()
            await asyncio.gather(
                *(
                    client.put_object(
                        dev,
                        1,
                        "AUTH_b",
                        "c",
                        f"o{i}",
                        timestamp=ts,
                        body=body,
                        content_length=len(body),
                        content_type="application/octet-stream",
                        metadata={},
                        container_update=ContainerUpdate(dev, 0),
                    )
                    for dev in devs
                )
            )

        async def get(i: int) -> None:
            stream = await client.get_object(devs[i % 3], 1, "AUTH_b", "c", f"o{i}")
            if len(await stream.read()) != len(body):
                raise RuntimeError("short read")

        results = [
            await _phase("put_4k_x3", put, args.ops, args.concurrency, procs),
            await _phase("get_4k", get, args.ops, args.concurrency, procs),
        ]
        results.append(await _large(client, devs[0]))
        stats = [await client.node_stats(dev) for dev in devs]
        return {
            "fsync": not args.no_fsync,
            "concurrency": args.concurrency,
            "results": results,
            "node_stats": stats,
        }
    finally:
        await session.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


async def _large(client: NodeClient, dev: Dev) -> dict:
    chunk = os.urandom(1 << 20)

    async def body():
        for _ in range(64):
            yield chunk

    t0 = time.perf_counter()
    await client.put_object(
        dev,
        2,
        "AUTH_b",
        "c",
        "big",
        timestamp=Timestamp.now(),
        body=body(),
        content_length=64 << 20,
        content_type="x/y",
        metadata={},
        container_update=None,
    )
    put_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    stream = await client.get_object(dev, 2, "AUTH_b", "c", "big")
    async for _ in stream.iter_chunks(1 << 20):
        pass
    get_s = time.perf_counter() - t0
    return {
        "op": "64MiB",
        "put_MB_per_s": round(64 / put_s, 1),
        "get_MB_per_s": round(64 / get_s, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ops", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--no-fsync", action="store_true")
    p.add_argument("--out")
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="stratus-nodebench-")
    try:
        import uvloop

        doc = uvloop.run(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(doc, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
