"""Ring speed: rebalance, lookups, ring file size and load time.

    .venv/bin/python bench/ring.py [--quick]

Prints one JSON document. Rebalance times are for part power 18 with 100 and
1,000 devices (first build, then adding one device, then adding 10% more
capacity, each with min_part_hours passed); load times for ring files of
part power 18 and 20. ``--quick`` stops at part power 16 (a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file is named ring.py: keep its own directory from shadowing the package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from ring import Ring, RingBuilder

HOUR = 3600.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cluster(part_power: int, devices: int, seed: int = 1) -> RingBuilder:
    """devices spread over 10 zones (5 for small clusters), 10 devices per node, mixed weights."""
    b = RingBuilder(part_power, 3, min_part_hours=1)
    rnd = random.Random(seed)
    zones = 10 if devices >= 200 else 5
    for i in range(devices):
        zone, node = i % zones, (i // zones) // 10
        b.add_device(
            region=1,
            zone=zone,
            ip=f"10.{zone}.{node // 256}.{node % 256}",
            port=6200,
            device=f"d{i}",
            weight=rnd.choice([1000.0, 2000.0, 4000.0]),
        )
    return b


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def rebalance_case(part_power: int, devices: int) -> dict:
    b = cluster(part_power, devices)
    build_s, first = timed(lambda: b.rebalance(seed=1, now=0))
    log(f"pp{part_power} {devices} devices: build {build_s:.2f}s")
    zone = 3
    b.add_device(region=1, zone=zone, ip="10.99.0.1", port=6200, device="one", weight=2000.0)
    add_s, one = timed(lambda: b.rebalance(seed=2, now=2 * HOUR))
    log(f"  add one device {add_s:.2f}s, moved {one.moved}")
    for i in range(devices // 10):
        b.add_device(
            region=1,
            zone=i % 10,
            ip=f"10.98.{i // 10}.1",
            port=6200,
            device=f"new{i}",
            weight=2000.0,
        )
    grow_s, grow = timed(lambda: b.rebalance(seed=3, now=4 * HOUR))
    log(f"  add 10% devices {grow_s:.2f}s, moved {grow.moved}")
    steady_s, steady = timed(lambda: b.rebalance(seed=4, now=6 * HOUR))
    return {
        "part_power": part_power,
        "devices": devices,
        "first_build_s": round(build_s, 3),
        "first_build_balance_pct": round(first.balance, 4),
        "add_one_device_s": round(add_s, 3),
        "add_one_device_moved": one.moved,
        "add_one_device_balance_pct": round(one.balance, 4),
        "add_10pct_devices_s": round(grow_s, 3),
        "add_10pct_devices_moved": grow.moved,
        "add_10pct_devices_balance_pct": round(grow.balance, 4),
        "unchanged_rebalance_s": round(steady_s, 3),
        "unchanged_rebalance_moved": steady.moved,
        "dispersion": grow.dispersion,
    }


def file_case(directory: Path, part_power: int, devices: int) -> tuple[dict, Path]:
    b = cluster(part_power, devices)
    b.rebalance(seed=1, now=0)
    path = directory / f"pp{part_power}.ring"
    write_s, _ = timed(lambda: b.write_ring(path))
    loads = []
    for _ in range(5):
        s, _ = timed(lambda: Ring(path))
        loads.append(s)
    builder = directory / f"pp{part_power}.builder"
    save_s, _ = timed(lambda: b.save(builder))
    bload_s, _ = timed(lambda: RingBuilder.load(builder))
    log(f"pp{part_power} ring file {path.stat().st_size} bytes, load {min(loads) * 1000:.1f}ms")
    return {
        "part_power": part_power,
        "devices": devices,
        "ring_file_bytes": path.stat().st_size,
        "ring_write_s": round(write_s, 4),
        "ring_load_s_median": round(statistics.median(loads), 4),
        "ring_load_s_min": round(min(loads), 4),
        "builder_file_bytes": builder.stat().st_size,
        "builder_save_s": round(save_s, 3),
        "builder_load_s": round(bload_s, 3),
    }, path


def lookups(path: Path, n: int) -> dict:
    ring = Ring(path, hash_path_prefix="bench", hash_path_suffix="salt")
    names = [f"o{i}" for i in range(n)]
    t0 = time.perf_counter()
    for name in names:
        ring.get_nodes("AUTH_bench", "c", name)
    get_nodes = n / (time.perf_counter() - t0)
    parts = [ring.get_part("AUTH_bench", "c", name) for name in names[: n // 20]]
    t0 = time.perf_counter()
    for part in parts:
        it = ring.get_more_nodes(part)
        for _ in range(3):
            next(it)
    handoffs = len(parts) / (time.perf_counter() - t0)
    return {
        "ring_part_power": ring.part_power,
        "ring_devices": len(ring.devices),
        "get_nodes_per_s": round(get_nodes),
        "first_3_handoffs_per_s": round(handoffs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="part power 16 only")
    args = ap.parse_args()
    big = 16 if args.quick else 18
    doc: dict = {"bench": "ring/1", "python": sys.version.split()[0], "cpus": os.cpu_count()}
    doc["rebalance"] = [rebalance_case(big, 100), rebalance_case(big, 1000)]
    with tempfile.TemporaryDirectory(prefix="stratus-ring-bench-") as tmp:
        files = []
        ring_path = None
        for pp in [big] if args.quick else [18, 20]:
            result, path = file_case(Path(tmp), pp, 1000)
            files.append(result)
            ring_path = ring_path or path
        doc["files"] = files
        assert ring_path is not None
        doc["lookups"] = lookups(ring_path, 20_000 if args.quick else 200_000)
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
