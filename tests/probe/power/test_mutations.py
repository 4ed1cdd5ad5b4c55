"""Mutation check: take each durability call out of the product in turn, at its one call
site, and watch a power-loss probe notice.

Each mutant (``mutants.SITES``) is a ``sitecustomize`` module put on the
``PYTHONPATH`` of the processes the probe starts (a monkeypatch of the
test's, never a switch in product code). It logs every call it drops, so a
mutant that never ran where it should fails the test as surely as one the
probe did not catch. ``test_every_sync_site_has_a_mutant`` keeps the list in
step with the code: a new fsync, fdatasync, O_DSYNC or LMDB sync without a
mutant (or a stated reason it cannot be caught) fails it.
"""

from __future__ import annotations

import ast
import os
import random
from pathlib import Path

import pytest

from tests.helpers.lazyfs import LazyFS
from tests.probe.power.cluster import need_fuse
from tests.probe.power.mutants import (
    EXEMPT,
    SITES,
    Site,
    doc_table,
    dropped,
    mutant_dir,
    pythonpath_with,
)
from tests.probe.power.test_identity import identity_power_cuts
from tests.probe.power.test_iscsi import power_cuts as iscsi_power_cuts
from tests.probe.power.test_objects import all_hosts_cut
from tests.probe.power.test_small_files import small_file_cut
from tests.probe.power.test_volumes import volume_power_cuts

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("objectstore", "blockstore", "stratus", "ring", "compute_glue", "s3compat")


def _seed() -> int:
    return int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))


async def _probe(site: Site, root: Path, pythonpath: str, mp: pytest.MonkeyPatch) -> tuple:
    """Run the probe that must catch ``site`` with its mutant: (problems, report)."""
    need_fuse()
    seed = _seed()
    if site.probe.startswith("files:"):
        # Not torn: every unsynced page is lost, so a single page left unsynced is seen.
        kind = site.probe[len("files:") :]
        return small_file_cut(root / "files", kind, seed, pythonpath, torn=False)
    if site.probe == "iscsi":
        with LazyFS.under(root / "iscsi") as disk:
            # The image is made by this process, unmutated; only the target runs mutated.
            mp.setenv("PYTHONPATH", pythonpath)
            return await iscsi_power_cuts(root, disk, seed, cuts=3)
    mp.setenv("PYTHONPATH", pythonpath)  # every process started from now on
    if site.probe == "objects":
        (root / "cluster").mkdir()
        return await all_hosts_cut(root / "cluster", seed)
    if site.probe == "volumes":
        (root / "volumes").mkdir(mode=0o700)
        problems, report, _ = await volume_power_cuts(root / "volumes", seed, cuts=2)
        return problems, report
    assert site.probe == "identity", site.probe
    # One round (CLI changes, then cuts) may lose nothing: up to three, each on a fresh
    # disk and store.
    reports = []
    for round_ in range(3):
        sub = root / f"round{round_}"
        with LazyFS.under(sub) as disk:
            problems, report = await identity_power_cuts(sub, disk, seed + round_, cuts=4)
        reports.append(report)
        if problems:
            return problems, reports
    return [], reports


@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
async def test_power_cut_catches_a_missing_sync(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_dir, log = mutant_dir(tmp_path, site)
    problems, report = await _probe(site, tmp_path, pythonpath_with(site_dir), monkeypatch)
    n = dropped(log)
    print(f"{site.name}: {n} calls dropped, {len(problems)} problems; {report}; {problems[:2]}")
    assert n, f"the mutant of {site.name} never ran: its site moved or the probe misses it"
    assert problems, f"the power cut did not notice {site.name} ({site.what}): {report}"


# -- the list is complete ---------------------------------------------------------------

_DURABLE_CALLS = {"fsync", "fdatasync", "fsync_dir", "sync_entries", "_fsync_dir"}


def _is_sync_call(node: ast.AST) -> bool:
    """An fsync / fdatasync (or a helper that makes one), an ``lmdb.open``, an O_DSYNC."""
    if isinstance(node, ast.Attribute) and node.attr in ("O_DSYNC", "O_SYNC"):
        return True
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr in _DURABLE_CALLS or (
            f.attr == "open" and isinstance(f.value, ast.Name) and f.value.id == "lmdb"
        )
    return isinstance(f, ast.Name) and f.id in _DURABLE_CALLS


def _sync_calls() -> set[tuple[str, str, int]]:
    """(file, function, line) of every durability call in the product."""
    found = set()
    for pkg in PRODUCT:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            for func in ast.walk(ast.parse(path.read_text(), rel)):
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if func.name in _DURABLE_CALLS:
                    continue  # the helpers themselves: their callers are the sites
                for node in ast.walk(func):
                    if _is_sync_call(node):
                        found.add((rel, func.name, getattr(node, "lineno", 0)))
    return found


def _covered(rel: str, function: str, lineno: int) -> bool:
    line = (ROOT / rel).read_text().splitlines()[lineno - 1]
    for s in SITES:
        if s.file == rel and s.function == function and s.line in line:
            return True
    return (rel, function) in EXEMPT


def test_every_sync_site_has_a_mutant() -> None:
    missing = []
    for rel, function, lineno in sorted(_sync_calls()):
        if rel.startswith(("objectstore/node/__main__", "stratus/cli/")):
            continue  # flags and help text, not calls
        if not _covered(rel, function, lineno):
            missing.append(f"{rel}:{lineno} in {function}")
    assert not missing, "durability calls without a mutant in mutants.SITES:\n" + "\n".join(missing)


def test_the_durability_page_lists_every_mutant() -> None:
    page = (ROOT / "docs" / "durability.md").read_text()
    assert doc_table() in page, (
        "docs/durability.md: paste the table from `python -m tests.probe.power.mutants`"
    )
