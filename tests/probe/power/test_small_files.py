"""Power cuts after the small durable writes: an installed ring, a volume file filled from
elsewhere, extended or deleted, the admin key file, a private key file (S3 encryption
keys, configuration), compute records, a cached guest image.

Each write runs in a process of its own on a LazyFS mount (``small_files``),
which prints what returned; the power is cut (torn); another process checks
that every acknowledged write is there as it was acknowledged.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.lazyfs import LazyFS
from tests.probe.power.cluster import lost as cut_summary
from tests.probe.power.cluster import need_fuse
from tests.probe.power.small_files import KINDS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[3]


def _run(argv: list[str], env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.probe.power.small_files", *argv],
        cwd=ROOT, env=env, input=stdin.encode(), capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode < 0 and argv[0] == "check":  # SIGBUS: an LMDB file the cut left short
        return json.dumps([f"reading the store killed its reader (signal {-done.returncode})"])
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return done.stdout.decode()


def small_file_cut(
    root: Path, kind: str, seed: int, pythonpath: str = "", *, torn: bool = True
) -> tuple[list[str], str]:
    """Write, cut the power (``torn``: each unsynced page lost or kept at random; else all
    lost), check: the problems, and a report."""
    need_fuse()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    mutated = dict(env, PYTHONPATH=pythonpath) if pythonpath else env
    with LazyFS.under(root) as disk:
        acks = _run(["do", kind, str(disk.mount)], mutated)
        gone = disk.crash(torn=torn, seed=seed)
        disk.start()
        problems = json.loads(_run(["check", kind, str(disk.mount)], env, acks))
    report = f"{kind}: seed {seed}, {len(acks.splitlines())} acknowledged, {cut_summary([gone])}"
    return problems, report


@pytest.mark.parametrize("kind", KINDS)
def test_small_durable_writes_survive_a_power_cut(
    kind: str, tmp_path: Path, power_report: Callable[[str], None]
) -> None:
    seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
    problems, report = small_file_cut(tmp_path, kind, seed)
    power_report(report)
    assert not problems, f"{report}\n" + "\n".join(problems)
