"""Mutation check: take each durability call out of the storage nodes and the volume
service, and watch a power cut notice.

Each mutation is a ``sitecustomize`` module put on the node processes'
``PYTHONPATH`` by this test (a monkeypatch of the test's, never a switch in
product code). The power-loss probe of ``test_objects`` must then fail; a
mutation it does not catch would be a durability promise no test keeps.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.lazyfs import LazyFS
from tests.probe.power.cluster import need_fuse
from tests.probe.power.test_identity import identity_power_cuts
from tests.probe.power.test_iscsi import power_cuts as iscsi_power_cuts
from tests.probe.power.test_objects import all_hosts_cut
from tests.probe.power.test_volumes import volume_power_cuts

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# fsync becomes a no-op for the descriptors ``{test}`` (a ``stat`` predicate) picks.
_SKIP_FSYNC = """
import os, stat
_fsync = os.fsync
def fsync(fd):
    if not {test}(os.fstat(fd).st_mode):
        _fsync(fd)
os.fsync = fsync
"""

# LMDB commits without fdatasync (MDB_NOSYNC | MDB_NOMETASYNC) for the stores ``{picks}``
# (an expression of the store's ``path``) selects.
_LMDB_NOSYNC = """
import lmdb, os
_open = lmdb.open
def open_nosync(path, **kw):
    if {picks}:
        kw["sync"] = False
        kw["metasync"] = False
    return _open(path, **kw)
lmdb.open = open_nosync
"""


def _lmdb_nosync(store: str) -> str:
    """The LMDB mutation for the stores named ``store`` (their directory's name) only."""
    return _LMDB_NOSYNC.format(picks=f'os.path.basename(str(path).rstrip("/")) == "{store}"')


def _mutant(tmp_path: Path, source: str) -> Path:
    """A directory holding ``source`` as ``sitecustomize.py``."""
    site = tmp_path / "mutant"
    site.mkdir()
    (site / "sitecustomize.py").write_text(source)
    return site


def _run_mutated(monkeypatch: pytest.MonkeyPatch, site: Path) -> None:
    """Every process started from now on imports the mutant first."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )


def _seed() -> int:
    return int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))


MUTATIONS = {
    # Body files: data written, never fsynced.
    "file-fsync": _SKIP_FSYNC.format(test="stat.S_ISREG"),
    # Directories: renames and new files never made durable.
    "dir-fsync": _SKIP_FSYNC.format(test="stat.S_ISDIR"),
    # The index: every LMDB commit without fdatasync.
    "lmdb-sync": _LMDB_NOSYNC.format(picks="True"),
}


def _caught(mutation: str, problems: list[Any], report: object) -> None:
    print(f"{mutation}: {len(problems)} problems; {report}; first: {problems[:2]}")
    assert problems, f"the power cut did not notice {mutation} removed: {report}"


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
async def test_power_cut_catches_a_missing_sync(
    mutation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_mutated(monkeypatch, _mutant(tmp_path, MUTATIONS[mutation]))
    (tmp_path / "cluster").mkdir()
    problems, report = await all_hosts_cut(tmp_path / "cluster", _seed())
    _caught(mutation, problems, report)


TARGET_MUTATIONS = {
    # FUA and write-through writes lose their O_DSYNC descriptor.
    "o-dsync": """
import os
os.O_DSYNC = 0
os.O_SYNC = 0
""",
    # SYNCHRONIZE CACHE flushes nothing.
    "fdatasync": """
import os
os.fdatasync = lambda fd: None
os.fsync = lambda fd: None
""",
}


@pytest.mark.parametrize("mutation", sorted(TARGET_MUTATIONS))
async def test_iscsi_power_cut_catches_a_missing_flush(
    mutation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_fuse()
    site = _mutant(tmp_path, TARGET_MUTATIONS[mutation])
    with LazyFS.under(tmp_path) as disk:
        # The image is made by this process, unpatched; only the target runs mutated.
        _run_mutated(monkeypatch, site)
        problems, report = await iscsi_power_cuts(tmp_path, disk, _seed(), cuts=3)
    _caught(mutation, problems, report)


# Only the calls made from the volume service's file backend lose their fsync: the
# same sitecustomize is on the path of the object cluster the backups go to.
_FROM_FILES = """
import os, stat, sys
_fsync = os.fsync
_FILES = os.path.join("blockstore", "backend", "files.py")
def _from_files():
    frame = sys._getframe(2)
    for _ in range(4):
        if frame is None:
            return False
        if frame.f_code.co_filename.endswith(_FILES):
            return True
        frame = frame.f_back
    return False
def fsync(fd):
    if _from_files() and {test}(os.fstat(fd).st_mode):
        return
    _fsync(fd)
os.fsync = fsync
"""

VOLUME_MUTATIONS = {
    # Volume and snapshot files: built, renamed into place, never fsynced.
    "volume-file-fsync": _FROM_FILES.format(test="stat.S_ISREG"),
    # The backend's directories: renames into volumes/ and snapshots/, unlinks, and the
    # directories themselves never made durable.
    "volume-dir-fsync": _FROM_FILES.format(test="stat.S_ISDIR"),
    # The volume records (``<volume dir>/records``): LMDB commits without fdatasync.
    "volume-store-sync": _lmdb_nosync("records"),
}


@pytest.mark.parametrize("mutation", sorted(VOLUME_MUTATIONS))
async def test_volume_power_cut_catches_a_missing_sync(
    mutation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_fuse()
    _run_mutated(monkeypatch, _mutant(tmp_path, VOLUME_MUTATIONS[mutation]))
    (tmp_path / "volumes").mkdir(mode=0o700)
    problems, report, _ = await volume_power_cuts(tmp_path / "volumes", _seed(), cuts=2)
    _caught(mutation, problems, report)


async def test_identity_power_cut_catches_a_missing_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The identity store's LMDB commits without fdatasync: acknowledged users go missing."""
    need_fuse()
    site = _mutant(tmp_path, _lmdb_nosync("identity"))
    _run_mutated(monkeypatch, site)  # the CLI and the worker; not this process
    # One round (CLI changes, then cuts) sometimes loses nothing: seen once in a CI-like
    # run, cause not yet understood. Up to three rounds, each on a fresh disk and store.
    reports = []
    for round_ in range(3):
        root = tmp_path / f"round{round_}"
        with LazyFS.under(root) as disk:
            problems, report = await identity_power_cuts(root, disk, _seed(), cuts=4)
        reports.append(report)
        if problems:
            break
    _caught("identity-lmdb-sync", problems, reports)
