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

import pytest

from tests.helpers.lazyfs import LazyFS
from tests.probe.power.cluster import need_fuse
from tests.probe.power.test_identity import identity_power_cuts
from tests.probe.power.test_iscsi import power_cuts as iscsi_power_cuts
from tests.probe.power.test_objects import all_hosts_cut
from tests.probe.power.test_volumes import volume_power_cuts

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

MUTATIONS = {
    # Body files: data written, never fsynced.
    "file-fsync": """
import os, stat
_fsync = os.fsync
def fsync(fd):
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        _fsync(fd)
os.fsync = fsync
""",
    # Directories: renames and new files never made durable.
    "dir-fsync": """
import os, stat
_fsync = os.fsync
def fsync(fd):
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        _fsync(fd)
os.fsync = fsync
""",
    # The index: LMDB commits without fdatasync (MDB_NOSYNC | MDB_NOMETASYNC).
    "lmdb-sync": """
import lmdb
_open = lmdb.open
def open_nosync(path, **kw):
    kw["sync"] = False
    kw["metasync"] = False
    return _open(path, **kw)
lmdb.open = open_nosync
""",
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
async def test_power_cut_catches_a_missing_sync(
    mutation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "mutant"
    site.mkdir()
    (site / "sitecustomize.py").write_text(MUTATIONS[mutation])
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )
    seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
    (tmp_path / "cluster").mkdir()
    problems, report = await all_hosts_cut(tmp_path / "cluster", seed)
    print(f"{mutation}: {len(problems)} problems; {report}; first: {problems[:2]}")
    assert problems, f"the power cut did not notice {mutation} removed: {report}"


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
    site = tmp_path / "mutant"
    site.mkdir()
    (site / "sitecustomize.py").write_text(TARGET_MUTATIONS[mutation])
    disk = LazyFS(tmp_path / "backing", tmp_path / "mnt", tmp_path / "ctl", tmp_path / "lazyfs.log")
    disk.start()
    try:
        # The image is made by this process, unpatched; only the target runs mutated.
        monkeypatch.setenv("PYTHONPATH", str(site))
        seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
        problems, report = await iscsi_power_cuts(tmp_path, disk, seed, cuts=3)
    finally:
        disk.stop()
    print(f"{mutation}: {len(problems)} problems; {report}; first: {problems[:2]}")
    assert problems, f"the power cut did not notice {mutation} removed: {report}"


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
    "volume-store-sync": """
import lmdb, os
_open = lmdb.open
def open_maybe_nosync(path, **kw):
    if os.path.basename(str(path).rstrip("/")) == "records":
        kw["sync"] = False
        kw["metasync"] = False
    return _open(path, **kw)
lmdb.open = open_maybe_nosync
""",
}


@pytest.mark.parametrize("mutation", sorted(VOLUME_MUTATIONS))
async def test_volume_power_cut_catches_a_missing_sync(
    mutation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_fuse()
    site = tmp_path / "mutant"
    site.mkdir()
    (site / "sitecustomize.py").write_text(VOLUME_MUTATIONS[mutation])
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )
    seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
    (tmp_path / "volumes").mkdir(mode=0o700)
    problems, report, _ = await volume_power_cuts(tmp_path / "volumes", seed, cuts=2)
    print(f"{mutation}: {len(problems)} problems; {report}; first: {problems[:2]}")
    assert problems, f"the power cut did not notice {mutation} removed: {report}"


async def test_identity_power_cut_catches_a_missing_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The identity store's LMDB commits without fdatasync: acknowledged users go missing."""
    need_fuse()
    site = tmp_path / "mutant"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        VOLUME_MUTATIONS["volume-store-sync"].replace('"records"', '"identity"')
    )
    disk = LazyFS(tmp_path / "backing", tmp_path / "mnt", tmp_path / "ctl", tmp_path / "lazyfs.log")
    disk.start()
    try:
        monkeypatch.setenv("PYTHONPATH", str(site))  # the CLI and the worker; not this process
        seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
        problems, report = await identity_power_cuts(tmp_path, disk, seed, cuts=2)
    finally:
        disk.stop()
    print(f"identity-lmdb-sync: {len(problems)} problems; {report}; first: {problems[:2]}")
    assert problems, f"the power cut did not notice identity-lmdb-sync removed: {report}"
