"""Power cuts under object load: what was acknowledged survives losing the page cache.

``STRATUS_POWER_CUTS`` (default 4) sets how many single-host cuts the first
probe makes; ``STRATUS_POWER_SEED`` replays one run. A longer run:
``STRATUS_POWER_CUTS=40 scripts/test.sh tests/probe/power -s``.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.probe.power.cluster import PowerCluster, lost, power_cluster
from tests.probe.power.objects_load import (
    Workload,
    check_all_replicas,
    check_listing,
    check_quorum,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

KEYS = [f"s{i}" for i in range(12)] + [f"f{i}" for i in range(12)]


def _seed() -> int:
    return int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))


async def _cutter(pc: PowerCluster, cuts: int, done: asyncio.Event) -> None:
    for _ in range(cuts):
        await asyncio.sleep(pc.rng.uniform(0.5, 2.0))
        await pc.cut(pc.rng.randrange(len(pc.disks)))
    done.set()


async def test_single_host_power_cuts_lose_nothing_acknowledged(
    tmp_path: Path, power_report: Callable[[str], None]
) -> None:
    seed = _seed()
    cuts = int(os.environ.get("STRATUS_POWER_CUTS", "4"))
    async with power_cluster(tmp_path, seed=seed) as pc:
        c = pc.cluster
        w = Workload(c, await c.swift(), KEYS, random.Random(seed))
        await w.setup()
        done = asyncio.Event()
        cutter = asyncio.create_task(_cutter(pc, cuts, done))
        await w.run(seconds=6.0 + 3.0 * cuts, max_ops=400 + 150 * cuts)
        await cutter
        await c.replicate()
        problems = await check_all_replicas(c, w)
        problems += await check_listing(c, w)
        problems += w.torn_reads
        report = (
            f"seed {seed}: {lost(pc.cuts)} of one host, {w.ops} operations "
            f"(Swift and S3), {w.acked} acknowledged, {w.reads_checked} reads checked"
        )
        power_report(report)
        assert w.acked >= 100, report
        assert sum(x["pages_restored"] + x["name_ops_undone"] for x in pc.cuts) > 0, (
            f"no cut lost anything, so nothing was tested: {report}"
        )
        assert not problems, f"{report}\n" + "\n".join(problems)


async def all_hosts_cut(root: Path, seed: int) -> tuple[list[str], str]:
    """Load, then every host loses power at once; the problems found, and a report."""
    async with power_cluster(root, seed=seed) as pc:
        c = pc.cluster
        w = Workload(c, await c.swift(), KEYS, random.Random(seed))
        await w.setup()
        await w.run(seconds=8.0, max_ops=300)
        cuts = await pc.cut_all()
        report = (
            f"seed {seed}: every host cut at once, {lost(cuts)}, {w.ops} operations "
            f"(Swift and S3), {w.acked} acknowledged, {w.reads_checked} reads checked"
        )
        if pc.failed_starts:
            return pc.failed_starts, report
        problems = await check_quorum(c, w, quorum=2) + w.torn_reads
        if not problems:
            await c.replicate()
            problems = await check_all_replicas(c, w) + await check_listing(c, w)
        return problems, report


async def test_all_hosts_lose_power_at_once(
    tmp_path: Path, power_report: Callable[[str], None]
) -> None:
    problems, report = await all_hosts_cut(tmp_path, _seed())
    power_report(report)
    assert not problems, f"{report}\n" + "\n".join(problems)
