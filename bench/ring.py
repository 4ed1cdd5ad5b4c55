"""Ring speed: rebalance, lookups, ring file size and load time; beside Swift's RingBuilder.

    .venv/bin/python bench/ring.py [--quick] [--no-swift]

Prints one JSON document. Rebalance times are for part power 18 with 100 and
1,000 devices (first build, then adding one device, then adding 10% more
capacity, each with min_part_hours passed); next to each ``moved`` stands
``min_moves``, the least the builder's own per-device targets allow (the sum
of every device's shortfall below its target before the rebalance), and
``min_moves_by_weight``, the same against pure weight shares. When OpenStack
Swift is installed (bench/peers/swift.sh makes its venv), Swift's
``RingBuilder`` runs the identical device list in a subprocess in the same
run (``swift``). Load times are for ring files of part power 18 and 20.
``--quick`` stops at part power 16 (a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _peers import SWIFT_PYTHON  # imported while bench/ is still on sys.path

# This file is named ring.py: keep its own directory from shadowing the package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from ring import Ring, RingBuilder

HOUR = 3600.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def device_specs(devices: int, seed: int = 1) -> list[dict[str, Any]]:
    """devices spread over 10 zones (5 for small clusters), 10 devices per node, mixed weights."""
    rnd = random.Random(seed)
    zones = 10 if devices >= 200 else 5
    return [
        dict(
            region=1,
            zone=i % zones,
            ip=f"10.{i % zones}.{(i // zones) // 10 // 256}.{(i // zones) // 10 % 256}",
            port=6200,
            device=f"d{i}",
            weight=rnd.choice([1000.0, 2000.0, 4000.0]),
        )
        for i in range(devices)
    ]


def growth_specs(devices: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The device added alone, then the 10% added together."""
    one = [dict(region=1, zone=3, ip="10.99.0.1", port=6200, device="one", weight=2000.0)]
    more = [
        dict(region=1, zone=i % 10, ip=f"10.98.{i // 10}.1", port=6200, device=f"new{i}",
             weight=2000.0)
        for i in range(devices // 10)
    ]  # fmt: skip
    return one, more


def cluster(part_power: int, devices: int, seed: int = 1) -> RingBuilder:
    b = RingBuilder(part_power, 3, min_part_hours=1)
    for spec in device_specs(devices, seed):
        b.add_device(**spec)
    return b


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def held(b: RingBuilder) -> Counter[int]:
    """Replicas each device holds now."""
    counts: Counter[int] = Counter()
    for col in b.replica_table or []:
        counts.update(col)
    return counts


def min_moves(before: Counter[int], report) -> int:
    """The fewest replica moves that bring every device up to the builder's own target."""
    return sum(max(0, int(s["target"]) - before.get(d, 0)) for d, s in report.devices.items())


def min_moves_by_weight(before: Counter[int], weights: dict[int, float], replicas: int) -> int:
    """The same against pure weight shares of partitions x replicas (no failure domains)."""
    total, slots = sum(weights.values()), sum(before.values()) or 0
    return round(sum(max(0.0, w * slots / total - before.get(d, 0)) for d, w in weights.items()))


def step(b: RingBuilder, seed: int, hours: float) -> tuple[float, Any, dict[str, int]]:
    before = held(b)
    seconds, report = timed(lambda: b.rebalance(seed=seed, now=hours * HOUR))
    weights = {d.id: d.weight for d in b.devices if d.weight > 0}
    floors = {
        "min_moves": min_moves(before, report),
        "min_moves_by_weight": min_moves_by_weight(before, weights, b.replicas),
    }
    return seconds, report, floors


def rebalance_case(part_power: int, devices: int) -> dict:
    b = cluster(part_power, devices)
    build_s, first = timed(lambda: b.rebalance(seed=1, now=0))
    log(f"pp{part_power} {devices} devices: build {build_s:.2f}s")
    one_specs, more_specs = growth_specs(devices)
    for spec in one_specs:
        b.add_device(**spec)
    add_s, one, one_min = step(b, 2, 2)
    log(f"  add one device {add_s:.2f}s, moved {one.moved} (min {one_min['min_moves']})")
    for spec in more_specs:
        b.add_device(**spec)
    grow_s, grow, grow_min = step(b, 3, 4)
    log(f"  add 10% devices {grow_s:.2f}s, moved {grow.moved} (min {grow_min['min_moves']})")
    steady_s, steady, _ = step(b, 4, 6)
    return {
        "part_power": part_power,
        "devices": devices,
        "first_build_s": round(build_s, 3),
        "first_build_balance_pct": round(first.balance, 4),
        "add_one_device_s": round(add_s, 3),
        "add_one_device_moved": one.moved,
        "add_one_device_min_moves": one_min["min_moves"],
        "add_one_device_min_moves_by_weight": one_min["min_moves_by_weight"],
        "add_one_device_balance_pct": round(one.balance, 4),
        "add_10pct_devices_s": round(grow_s, 3),
        "add_10pct_devices_moved": grow.moved,
        "add_10pct_devices_min_moves": grow_min["min_moves"],
        "add_10pct_devices_min_moves_by_weight": grow_min["min_moves_by_weight"],
        "add_10pct_devices_balance_pct": round(grow.balance, 4),
        "unchanged_rebalance_s": round(steady_s, 3),
        "unchanged_rebalance_moved": steady.moved,
        "dispersion": grow.dispersion,
    }


# Runs in Swift's venv: the same steps with swift.common.ring.RingBuilder.
SWIFT_CASE = r"""
import json, sys, time
from collections import Counter
from swift.common.ring import RingBuilder

spec = json.load(sys.stdin)
b = RingBuilder(spec["part_power"], 3, 1)

def held():
    c = Counter()
    for row in b._replica2part2dev or []:
        c.update(row)
    return c

def step(name, seed):
    before = held()
    t0 = time.perf_counter()
    moved, balance, _ = b.rebalance(seed=seed)
    seconds = time.perf_counter() - t0
    b.pretend_min_part_hours_passed()
    weights = {d["id"]: d["weight"] for d in b._iter_devs() if d["weight"] > 0}
    total, slots = sum(weights.values()), sum(before.values())
    floor = round(sum(max(0.0, w * slots / total - before.get(i, 0)) for i, w in weights.items()))
    out[name + "_s"] = round(seconds, 3)
    out[name + "_moved"] = moved
    out[name + "_balance_pct"] = round(balance, 4)
    if slots:
        out[name + "_min_moves_by_weight"] = floor

out = {"part_power": spec["part_power"], "devices": len(spec["devices"])}
for dev in spec["devices"]:
    b.add_dev(dict(dev))
step("first_build", 1)
for dev in spec["one"]:
    b.add_dev(dict(dev))
step("add_one_device", 2)
for dev in spec["more"]:
    b.add_dev(dict(dev))
step("add_10pct_devices", 3)
step("unchanged_rebalance", 4)
out["dispersion_pct"] = round(b.dispersion, 4)
print(json.dumps(out))
"""


def swift_case(part_power: int, devices: int, timeout: float) -> dict[str, Any]:
    """Swift's RingBuilder on the identical device list and steps, or why it did not run."""
    one, more = growth_specs(devices)
    spec = {"part_power": part_power, "devices": device_specs(devices), "one": one, "more": more}
    try:
        done = subprocess.run(
            [str(SWIFT_PYTHON), "-c", SWIFT_CASE],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        return {"part_power": part_power, "devices": devices, "error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        return {"part_power": part_power, "devices": devices, "error": done.stderr[-500:]}
    out = json.loads(done.stdout)
    log(f"swift pp{part_power} {devices} devices: {out}")
    return out


def swift_version() -> str | None:
    if not SWIFT_PYTHON.exists():
        return None
    done = subprocess.run(
        [str(SWIFT_PYTHON), "-c", "import swift; print(swift.__version__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return done.stdout.strip() if done.returncode == 0 else None


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
    ap.add_argument("--no-swift", action="store_true", help="skip Swift's RingBuilder")
    ap.add_argument("--swift-timeout", type=float, default=900, help="seconds per Swift case")
    args = ap.parse_args()
    big = 16 if args.quick else 18
    doc: dict = {"bench": "ring/2", "python": sys.version.split()[0], "cpus": os.cpu_count()}
    doc["rebalance"] = [rebalance_case(big, 100), rebalance_case(big, 1000)]
    version = None if args.no_swift else swift_version()
    if version:
        doc["swift"] = {
            "version": version,
            "rebalance": [swift_case(big, n, args.swift_timeout) for n in (100, 1000)],
        }
    else:
        doc["swift"] = {"skipped": "--no-swift" if args.no_swift else f"no {SWIFT_PYTHON}"}
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
