"""Power cuts under the volume service: what the client saw completed survives, and
start-up leaves records, files and exports agreeing.

The service runs as ``stratus volume serve`` with its records and volume
files on a LazyFS mount (``volume_service``); workers drive the HTTP API
(``volume_load``) and the power is cut at a random moment with operations
in flight. ``STRATUS_POWER_CUTS`` (default 3) sets the number of cuts,
``STRATUS_POWER_SEED`` replays one run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from blockstore.client import VolumeClient
from tests.probe.power.cluster import lost as cut_summary
from tests.probe.power.volume_load import Model, Workload, adopt, check, settle
from tests.probe.power.volume_service import PROJECT, volume_host

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
WORKERS = 3


def _seed() -> int:
    return int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))


async def volume_power_cuts(root: Path, seed: int, cuts: int) -> tuple[list[str], str, int]:
    """Load, cut, restart, check; ``cuts`` times. The problems found, a report, and how
    many operations the client saw complete."""
    rng = random.Random(seed)
    model = Model(random.Random(rng.randrange(1 << 30)))
    problems: list[str] = []
    async with volume_host(root, seed=rng.randrange(1 << 30)) as (host, token):
        async with VolumeClient(host.url, token, PROJECT) as c:
            for n in range(cuts):
                w = Workload(host, c, model)
                tasks = [asyncio.create_task(w.run(i)) for i in range(WORKERS)]
                await asyncio.sleep(rng.uniform(1.0, 3.5))
                host.power_off()
                for t in tasks:
                    t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(*tasks, return_exceptions=True)
                try:
                    await host.boot()
                except AssertionError as exc:  # records that no longer open, a crash at start
                    problems.append(f"cut {n + 1}: the service did not start again: {exc}")
                    break
                state = await settle(c)
                found = await check(host, model, state)
                problems += [f"cut {n + 1}: {p}" for p in found]
                adopt(model, state)
                if found:
                    break
        report = (
            f"seed {seed}: {cut_summary(host.cuts)}, {model.ops} operations, "
            f"{model.acked} acknowledged, iSCSI logins after restarts {model.logins}"
        )
    return problems, report, model.acked


async def test_volume_service_power_cuts_keep_what_was_acknowledged(
    tmp_path: Path, power_report: Callable[[str], None]
) -> None:
    seed = _seed()
    cuts = int(os.environ.get("STRATUS_POWER_CUTS", "3"))
    problems, report, acked = await volume_power_cuts(tmp_path, seed, cuts)
    power_report(report)
    assert not problems, f"{report}\n" + "\n".join(problems[:20])
    assert acked >= 10 * cuts, f"too little was acknowledged to test anything: {report}"
