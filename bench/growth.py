"""How cost grows with the data: one container to a million objects, an account to 100,000
containers, and what the nodes pay for it. One JSON document out (and plots with --plot).

    .venv/bin/python bench/growth.py                    # 1,000,000 objects, a sample every
                                                        # 100,000; 100,000 containers (~40 min)
    .venv/bin/python bench/growth.py --quick            # 20,000 / 5,000 / 5,000 (~2 min)
    .venv/bin/python bench/growth.py --with-swift       # then OpenStack Swift, given as much
                                                        # time as Stratus took to fill
    .venv/bin/python bench/growth.py --plot DIR         # one SVG per curve (needs matplotlib:
                                                        # pip install -e '.[bench]')

Each system runs on a fresh cluster (3 nodes, 3 replicas, fsync on, every device on this
machine's one disk). One container is filled with 4 KiB objects named ``p%03d/%09d`` (1,000
prefixes); after every ``--step`` objects the bench measures, at that size:

- ``put``: the step's own PUTs (concurrency 32): ops/s, latency, server CPU per op;
- ``get``: 2,000 GETs of keys stored so far, at random: ops/s, server CPU per op;
- ``list_page_ms``: a 1,000-object listing page at a random marker (median and p90 of 20);
- ``s3_delimiter_page_ms``: ListObjectsV2 with ``delimiter=/`` (one page: the 1,000 common
  prefixes, each standing for size/1,000 keys), median of 5;
- ``rss_mib``: the storage nodes' resident memory (Stratus) or every Swift process's, heap
  (``anon``) apart from mapped file pages (``file``: LMDB's map, given back under pressure);
- ``disk_bytes_per_object``: allocated bytes under the data directory (LMDB maps and body
  files, all replicas) over the objects stored;
- ``replication_pass_s`` and ``audit_objects_per_s`` (Stratus): one object replication pass
  and one auditor pass run now on every node (POST /replicate), their intervals set to a day so
  no background pass overlaps a measurement, their rate limits off so the pass shows its cost.

Then an account grows to ``--containers`` containers: create rate per step and an account
listing page's latency at each size. Every phase is bounded (counts, and for Swift the time
Stratus took); any error is counted in the JSON, never hidden.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _launch import ADMIN_USER, emit
from _peers import CACHE, SwiftPeer
from loadgen import Api, Phase, S3Api, SigV4, SwiftApi, call, descendants, run_phase
from objects import ACCESS, SECRET, StratusBenchUp, wait_answering

BODY = 4096
PREFIXES = 1000
PAGE = 1000
CONCURRENCY = 32
# Background passes a day apart, unthrottled: the bench runs each pass itself, at each size.
NODE_CONFIG = """\
[durability]
replicator_interval = 86400.0
auditor_interval = 86400.0
reclaim_age = 864000.0
replicator_bytes_per_second = 0.0
replicator_items_per_second = 0.0
auditor_bytes_per_second = 0.0
auditor_files_per_second = 0.0
"""


def key_of(i: int) -> str:
    return f"p{i % PREFIXES:03d}/{i:09d}"


@dataclass
class System:
    """One running system under test, as the bench sees it."""

    name: str
    api: Api
    s3: S3Api | None
    pids: Callable[[], list[int]]  # the server's processes (for CPU)
    memory_pids: Callable[[], list[int]]  # whose RSS counts as the storage's memory
    data_dir: Path
    node_urls: list[str] = field(default_factory=list)  # Stratus: each node's internal URL
    session: aiohttp.ClientSession | None = None


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mib(pids: list[int]) -> dict[str, float]:
    """Resident memory of ``pids``: anonymous (heap) apart from file pages (LMDB's mmap)."""
    total = {"RssAnon:": 0, "RssFile:": 0}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    name = line.split(None, 1)[0]
                    if name in total:
                        total[name] += int(line.split()[1])
        except OSError:
            continue
    return {"anon": round(total["RssAnon:"] / 1024, 1), "file": round(total["RssFile:"] / 1024, 1)}


def allocated_bytes(root: Path) -> int:
    """Bytes the file system allocated under ``root`` (sparse LMDB maps count what they use)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                continue
    return total


def summary_ms(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"median": None, "p90": None}
    ordered = sorted(seconds)
    return {
        "median": round(statistics.median(ordered) * 1000, 2),
        "p90": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000, 2),
    }


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


async def node_passes(system: System) -> dict[str, Any]:
    """One object replication pass and one auditor pass on every node, run now, timed."""
    assert system.session is not None
    out: dict[str, Any] = {}
    for worker, label in (("object", "replication_pass_s"), ("auditor", "audit")):
        seconds, checked = [], 0
        for url in system.node_urls:
            t0 = time.perf_counter()
            _, body = await call(
                system.session, "POST", f"{url}/replicate?workers={worker}&timeout=3600", {},
                keep=True,
            )  # fmt: skip
            seconds.append(time.perf_counter() - t0)
            if worker == "auditor":
                found = re.search(rb'"checked":\s*(\d+)', body)
                checked += int(found.group(1)) if found else 0
        if worker == "object":
            out[label] = {"max": round(max(seconds), 2), "per_node": [round(s, 2) for s in seconds]}
        else:
            out["audit_objects_per_s"] = round(checked / max(sum(seconds), 1e-9), 1)
            out["audit_pass_s"] = [round(s, 2) for s in seconds]
    return out


async def grow_container(system: System, total: int, step: int, budget: float | None) -> dict:
    """Fill one container step by step; the figures at each size."""
    container = "growth"
    await system.api.create_container(container)
    samples: list[dict[str, Any]] = []
    stored = 0
    started = time.monotonic()
    while stored < total:
        if budget is not None and time.monotonic() - started > budget:
            print(f"# {system.name}: time budget spent at {stored} objects", file=sys.stderr)
            break
        keys = [key_of(i) for i in range(stored, min(total, stored + step))]
        base = dict(workload="growth", container=container, size=BODY, concurrency=CONCURRENCY)
        put = await run_phase(system.api, Phase(op="put", keys=keys, **base), system.pids())
        put.pop("_keys")
        stored += len(keys)
        sample_keys = [key_of(random.randrange(stored)) for _ in range(2000)]
        get = await run_phase(system.api, Phase(op="get", keys=sample_keys, **base), system.pids())
        get.pop("_keys")
        pages = []
        for _ in range(20):
            marker = key_of(random.randrange(stored))
            pages.append(await timed(lambda m=marker: system.api.list_page(container, m, PAGE)))
        sample: dict[str, Any] = {
            "objects": stored,
            "put": _brief(put),
            "get": _brief(get),
            "list_page_ms": summary_ms(pages),
        }
        if system.s3 is not None:
            s3, prefixes = system.s3, []
            for _ in range(5):
                t0 = time.perf_counter()
                prefixes.append(await s3.common_prefixes(container, "/", PAGE))
                pages.append(time.perf_counter() - t0)
            sample["s3_delimiter_page_ms"] = summary_ms(pages[-5:])
            sample["s3_delimiter_prefixes"] = prefixes[-1]
        sample["rss_mib"] = rss_mib(system.memory_pids())
        disk = allocated_bytes(system.data_dir)
        sample["disk_bytes_per_object"] = round(disk / stored, 1)
        if system.node_urls:
            sample.update(await node_passes(system))
        samples.append(sample)
        print(f"# {system.name} {stored}: {sample}", file=sys.stderr)
    return {
        "objects": stored,
        "fill_s": round(time.monotonic() - started, 1),
        "samples": samples,
    }


async def grow_account(system: System, total: int, step: int, budget: float | None) -> dict:
    """Create containers step by step; create rate and an account listing page at each size."""
    samples: list[dict[str, Any]] = []
    made, started = 0, time.monotonic()
    sem = asyncio.Semaphore(CONCURRENCY)
    errors = 0

    async def make(name: str) -> None:
        nonlocal errors
        async with sem:
            if budget is not None and time.monotonic() - started > budget:
                return  # out of time: the step ends with what was made
            try:
                await system.api.create_container(name)
            except Exception:  # counted: the JSON says how many failed
                errors += 1

    while made < total:
        if budget is not None and time.monotonic() - started > budget:
            break
        names = [f"c{i:07d}" for i in range(made, min(total, made + step))]
        t0 = time.perf_counter()
        await asyncio.gather(*(make(n) for n in names))
        wall = time.perf_counter() - t0
        made += len(names)
        pages = []
        for _ in range(10):
            marker = f"c{random.randrange(made):07d}"
            pages.append(await timed(lambda m=marker: _account_page(system, m)))
        samples.append(
            {
                "containers": made,
                "creates_per_s": round(len(names) / wall, 1),
                "errors": errors,
                "account_page_ms": summary_ms(pages),
            }
        )
        print(f"# {system.name} containers {made}: {samples[-1]}", file=sys.stderr)
    return {"containers": made, "samples": samples}


async def _account_page(system: System, marker: str) -> None:
    api = system.api
    assert isinstance(api, SwiftApi)
    url = f"{api.base}?format=json&limit={PAGE}&marker={marker}"
    await call(api.session, "GET", url, api.headers, ok=(200, 204), keep=True)


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    keep = ("ops", "errors", "ops_per_s", "lat_ms", "server_cpu_ms_per_op")
    return {k: r[k] for k in keep if k in r}


async def measure(system_factory: Any, args: argparse.Namespace, budget: float | None) -> dict:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=3600)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=("Content-Type",)
    ) as session:
        system: System = await system_factory(session)
        system.session = session
        objects = await grow_container(system, args.objects, args.step, budget)
        account = await grow_account(
            system, args.containers, args.container_step, None if budget is None else budget / 3
        )
    return {"container": objects, "account": account}


class GrowthUp(StratusBenchUp):
    """`stratus up` reading the bench's configuration (passes a day apart, unthrottled)."""

    def __init__(self, data_dir: Path, config: Path) -> None:
        super().__init__(data_dir)
        self.config = config

    def env(self) -> dict[str, str]:
        return {**super().env(), "STRATUS_CONFIG": str(self.config)}


def run_stratus(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(dir=base, prefix="stratus-growth-"))
    config = data / "bench.toml"
    config.write_text(NODE_CONFIG)
    up = GrowthUp(data / "data", config)
    try:
        up.start()
        assert up.proc is not None
        root = up.proc.pid
        wait_answering(up.s3_endpoint + "/")

        async def factory(session: aiohttp.ClientSession) -> System:
            api = await SwiftApi.login(session, up.auth_url, ADMIN_USER, up.admin_key)
            s3 = S3Api(session, up.s3_endpoint, SigV4(ACCESS, SECRET, "us-east-1"))
            return System(
                name="stratus",
                api=api,
                s3=s3,
                pids=lambda: [root],
                memory_pids=lambda: [
                    p for p in descendants([root]) if " node" in cmdline(p) or "node " in cmdline(p)
                ],
                data_dir=up.data_dir,
                node_urls=[f"http://127.0.0.1:{up.base_port + i}" for i in range(up.nodes)],
            )

        return asyncio.run(measure(factory, args, None))
    except BaseException:
        print(f"# stratus up's log, last lines:\n{up.log_tail(60)}", file=sys.stderr)
        raise
    finally:
        up.stop()
        shutil.rmtree(data, ignore_errors=True)


def run_swift(args: argparse.Namespace, budget: float) -> dict[str, Any]:
    with SwiftPeer(nodes=3, replicas=3) as swift:
        info = swift.info

        def pids() -> list[int]:
            with open(swift.pidfile) as f:
                return [int(line.split()[-1]) for line in f if line.strip()]

        async def factory(session: aiohttp.ClientSession) -> System:
            api = await SwiftApi.login(
                session, info["SWIFT_AUTH_URL"], info["SWIFT_USER"], info["SWIFT_KEY"]
            )
            s3 = S3Api(
                session, info["S3_ENDPOINT"], SigV4(info["S3_ACCESS_KEY"], info["S3_SECRET_KEY"],
                "us-east-1"),
            )  # fmt: skip
            every = lambda: descendants(pids())  # noqa: E731
            return System(
                name="swift",
                api=api,
                s3=s3,
                pids=pids,
                memory_pids=every,
                data_dir=Path(os.environ.get("SWIFT_STATE", CACHE / "swift-aio")) / "data",
            )

        return asyncio.run(measure(factory, args, budget))


def plot(doc: dict[str, Any], directory: Path) -> list[str]:
    """One SVG per curve, each system a line; nothing when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("# no matplotlib: pip install -e '.[bench]' for plots", file=sys.stderr)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    curves = {
        "put_ops_per_s": ("container", lambda s: s["put"]["ops_per_s"]),
        "put_server_cpu_ms_per_op": ("container", lambda s: s["put"].get("server_cpu_ms_per_op")),
        "get_ops_per_s": ("container", lambda s: s["get"]["ops_per_s"]),
        "list_page_ms": ("container", lambda s: s["list_page_ms"]["median"]),
        "s3_delimiter_page_ms": (
            "container",
            lambda s: (s.get("s3_delimiter_page_ms") or {}).get("median"),
        ),
        "rss_anon_mib": ("container", lambda s: s["rss_mib"]["anon"]),
        "rss_file_mib": ("container", lambda s: s["rss_mib"]["file"]),
        "disk_bytes_per_object": ("container", lambda s: s["disk_bytes_per_object"]),
        "replication_pass_s": (
            "container",
            lambda s: (s.get("replication_pass_s") or {}).get("max"),
        ),
        "account_page_ms": ("account", lambda s: s["account_page_ms"]["median"]),
        "container_creates_per_s": ("account", lambda s: s["creates_per_s"]),
    }
    written = []
    for name, (part, value) in curves.items():
        fig, ax = plt.subplots(figsize=(6, 3.5))
        drawn = False
        for system in ("stratus", "swift"):
            samples = (doc.get(system) or {}).get(part, {}).get("samples", [])
            xs = [s["objects" if part == "container" else "containers"] for s in samples]
            ys = [value(s) for s in samples]
            points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=system)
                drawn = True
        if not drawn:
            plt.close(fig)
            continue
        ax.set_xlabel("objects in the container" if part == "container" else "containers")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
        path = directory / f"{name}.svg"
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        written.append(str(path))
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--step", type=int, default=100_000)
    ap.add_argument("--containers", type=int, default=100_000)
    ap.add_argument("--container-step", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true", help="20,000 objects, 5,000 containers")
    ap.add_argument("--with-swift", action="store_true", help="also OpenStack Swift, same time")
    ap.add_argument("--no-stratus", action="store_true")
    ap.add_argument("--dir", default="/var/tmp", help="where the data goes (a real disk)")
    ap.add_argument("--plot", help="write one SVG per curve into this directory")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    if args.quick:
        args.objects, args.step, args.containers, args.container_step = 20_000, 5_000, 5_000, 2_500
    doc: dict[str, Any] = {
        "bench": "growth/1",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "object_size": BODY,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    t0 = time.monotonic()
    if not args.no_stratus:
        doc["stratus"] = run_stratus(args, Path(args.dir))
    took = time.monotonic() - t0
    if args.with_swift:
        # Swift gets the time Stratus needed for its fill, so its curve ends where it got to.
        fill = (doc.get("stratus") or {}).get("container", {}).get("fill_s") or took
        doc["swift"] = run_swift(args, float(fill))
    doc["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.plot:
        doc["plots"] = plot(doc, Path(args.plot))
    emit(doc, args.out)


if __name__ == "__main__":
    main()
