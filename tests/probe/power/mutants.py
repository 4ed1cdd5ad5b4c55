"""Mutants: one durability call taken out of the product at ONE call site.

A mutant is a ``sitecustomize`` module put on the ``PYTHONPATH`` of the
processes a probe starts (a monkeypatch of the test's; product code has no
switch for it). It wraps ``os.fsync`` / ``os.fdatasync`` / ``os.open`` /
``lmdb.open`` and drops the durability of exactly the calls made from one
place: a product source file, a function in it, and (when the function makes
several such calls) the text of the calling line. Every dropped call is
logged, so a test can tell a mutant that was caught from one that never ran.

``SITES`` is the list of every fsync, fdatasync, O_DSYNC and LMDB sync in the
product that a power cut can test; ``tests/probe/power/test_mutations.py``
runs each with the probe that must notice, and
``test_every_sync_site_has_a_mutant`` keeps the list in step with the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# What a mutant does to its site's call.
FSYNC, FDATASYNC, O_DSYNC, LMDB_SYNC, LMDB_METASYNC = (
    "fsync", "fdatasync", "O_DSYNC", "lmdb sync", "lmdb metasync",
)  # fmt: skip


@dataclass(frozen=True)
class Site:
    """One durability call in the product, and the probe that must notice it gone."""

    name: str
    call: str  # FSYNC | FDATASYNC | O_DSYNC | LMDB_SYNC | LMDB_METASYNC
    file: str  # the calling product file, relative to the repository
    function: str  # the function that makes the call (or calls the helper that does)
    line: str  # text of the calling line in ``function`` ("": any line of it)
    probe: str  # objects | volumes | iscsi | identity | files:<kind>
    what: str  # what a power cut then loses

    def source(self, log: Path) -> str:
        """The ``sitecustomize`` module that takes this call out, logging to ``log``."""
        head = _MATCH.format(file=self.file, function=self.function, line=self.line, log=str(log))
        return head + _PATCH[self.call]


_MATCH = '''
import linecache, os, sys
_FILE, _FUNCTION, _LINE, _LOG = {file!r}, {function!r}, {line!r}, {log!r}


def _at_site():
    """Is the call being made (within a few frames) from the mutated site?"""
    frame = sys._getframe(2)
    for _ in range(8):
        if frame is None:
            return False
        code = frame.f_code
        if (code.co_filename.endswith(_FILE) and code.co_name == _FUNCTION
                and _LINE in linecache.getline(code.co_filename, frame.f_lineno)):
            return True
        frame = frame.f_back
    return False


def _dropped():
    with open(_LOG, "a") as out:
        out.write(f"{{os.getpid()}}\\n")
'''

_SKIP_CALL = """
_real_{call} = os.{call}
def {call}(fd):
    if _at_site():
        _dropped()
        return
    _real_{call}(fd)
os.{call} = {call}
"""

_LMDB_FLAG = """
import lmdb
_lmdb_open = lmdb.open
def lmdb_open(path, **kw):
    if _at_site():
        _dropped()
        kw["{flag}"] = False
    return _lmdb_open(path, **kw)
lmdb.open = lmdb_open
"""

_PATCH = {
    FSYNC: _SKIP_CALL.format(call="fsync"),
    FDATASYNC: _SKIP_CALL.format(call="fdatasync"),
    O_DSYNC: """
_open = os.open
_SYNC = os.O_DSYNC | os.O_SYNC
def open_(path, flags, mode=0o777, *, dir_fd=None):
    if flags & _SYNC and _at_site():
        _dropped()
        flags &= ~_SYNC
    return _open(path, flags, mode, dir_fd=dir_fd)
os.open = open_
""",
    LMDB_SYNC: _LMDB_FLAG.format(flag="sync"),
    LMDB_METASYNC: _LMDB_FLAG.format(flag="metasync"),
}

_BODIES, _DEVICE, _KV = (
    "objectstore/node/bodies.py", "objectstore/node/device.py", "objectstore/node/kv.py",
)  # fmt: skip
_FILES, _STORE = "blockstore/backend/files.py", "blockstore/manager/store.py"
_IDENTITY = "stratus/identity/lmdbenv.py"

SITES = [
    # -- storage nodes (probe: every host cut at once, then a quorum read) --
    Site("node-body-fsync", FSYNC, _BODIES, "commit_file", "os.fsync(self._fd)", "objects",
         "an acknowledged body file is empty or short on every replica"),
    Site("node-partition-dir-fsync", FSYNC, _BODIES, "commit_file", "_fsync_dir(part_dir)",
         "objects", "the rename of a body into its partition is undone"),
    Site("node-new-partition-fsync", FSYNC, _BODIES, "commit_file",
         "_fsync_dir(os.path.dirname(part_dir))", "objects",
         "a new partition directory (and every body in it) disappears"),
    Site("node-device-dirs-fsync", FSYNC, _DEVICE, "__init__", "durable.sync_entries", "objects",
         "a new device's index and its directories disappear"),
    Site("node-index-lmdb-sync", LMDB_SYNC, _KV, "__init__", "", "objects",
         "index commits are lost; the index may not open"),
    # A cluster's nodes keep committing (replication, updates) after the last write, and
    # each commit syncs the one before it: only a device whose last commit was an
    # acknowledged write shows the missing metasync, as the engine alone does here.
    Site("node-index-lmdb-metasync", LMDB_METASYNC, _KV, "__init__", "", "files:node-index",
         "the last commit before the cut is lost"),
    # -- the ring a node installs when it is pushed one --
    Site("ring-file-fsync", FSYNC, "ring/ringfile.py", "atomic_write", "os.fsync(fh.fileno())",
         "files:ring", "an installed ring file is empty"),
    Site("ring-dir-fsync", FSYNC, "ring/ringfile.py", "atomic_write", "fsync_dir(target.parent)",
         "files:ring", "the installed ring goes back to the old one"),
    Site("ring-new-dirs-fsync", FSYNC, "ring/install.py", "install_ring", "fsync_dir(directory",
         "files:ring", "a ring installed into a new directory is gone"),
    # -- the volume service's files (probe: its own power cuts under API load) --
    Site("volume-build-fsync", FSYNC, _FILES, "_build", "os.fsync(fd)", "volumes",
         "a new volume's or snapshot's file is short"),
    Site("volume-build-dir-fsync", FSYNC, _FILES, "_build", "_fsync_dir(final.parent)",
         "volumes", "a record without its file"),
    Site("volume-partial-fsync", FSYNC, _FILES, "commit_partial_volume", "os.fsync(fd)",
         "files:partial", "a volume filled from an image or a backup is short"),
    Site("volume-partial-dir-fsync", FSYNC, _FILES, "commit_partial_volume",
         "_fsync_dir(final.parent)", "files:partial", "that volume's file is gone"),
    Site("volume-extend-fsync", FSYNC, _FILES, "extend_volume", "os.fsync(fd)", "files:extend",
         "an extended volume is back at its old size"),
    Site("volume-unlink-dir-fsync", FSYNC, _FILES, "_unlink", "_fsync_dir(path.parent)",
         "files:delete", "a deleted volume's file comes back (an orphan)"),
    Site("volume-dirs-fsync", FSYNC, _FILES, "__init__", "durable.sync_entries", "volumes",
         "a new installation's files/ tree disappears"),
    Site("volume-records-lmdb-sync", LMDB_SYNC, _STORE, "__init__", "", "volumes",
         "acknowledged records are lost"),
    Site("volume-records-lmdb-metasync", LMDB_METASYNC, _STORE, "__init__", "",
         "files:volume-records",
         "the last record change before the cut is lost"),
    Site("volume-records-dirs-fsync", FSYNC, _STORE, "__init__", "durable.sync_entries",
         "volumes", "a new installation's records disappear"),
    # -- the iSCSI target --
    Site("target-fua-o-dsync", O_DSYNC, "blockstore/scsi/backing.py", "open", "os.O_DSYNC",
         "iscsi", "FUA writes are lost"),
    Site("target-sync-cache-fdatasync", FDATASYNC, "blockstore/scsi/backing.py", "flush", "",
         "iscsi", "writes before a completed SYNCHRONIZE CACHE are lost"),
    # -- the identity store --
    Site("identity-lmdb-sync", LMDB_SYNC, _IDENTITY, "acquire", "", "identity",
         "acknowledged users, keys and credentials are lost"),
    Site("identity-lmdb-metasync", LMDB_METASYNC, _IDENTITY, "acquire", "", "identity",
         "the last change before the cut is lost"),
    Site("identity-dirs-fsync", FSYNC, _IDENTITY, "acquire", "durable.sync_entries",
         "identity", "a new store disappears"),
    Site("admin-key-file-fsync", FSYNC, "stratus/identity/admin.py", "_write_key_file",
         "os.fsync(fd)", "files:admin-key", "the admin key file is empty"),
    Site("admin-key-dir-fsync", FSYNC, "stratus/identity/admin.py", "_write_key_file",
         "os.fsync(dir_fd)", "files:admin-key", "the admin key file is gone"),
    # -- private files: configuration, S3 encryption keys --
    Site("private-file-fsync", FSYNC, "stratus/private.py", "write_private", "os.fsync(fd)",
         "files:private", "a written key file is empty"),
    Site("private-dir-fsync", FSYNC, "stratus/private.py", "write_private", "os.fsync(dfd)",
         "files:private", "a written key file is gone"),
    Site("private-new-dirs-fsync", FSYNC, "stratus/private.py", "write_private",
         "durable.fsync_dir", "files:private", "a key written into a new directory is gone"),
    # -- compute records --
    Site("compute-records-lmdb-sync", LMDB_SYNC, "compute_glue/records.py", "__init__", "",
         "files:records", "acknowledged compute records are lost"),
    Site("compute-records-dirs-fsync", FSYNC, "compute_glue/records.py", "__init__",
         "durable.sync_entries", "files:records", "new compute records disappear"),
    Site("guest-image-fsync", FSYNC, "compute_glue/guest_image.py", "_write_atomically",
         "os.fsync(f.fileno())", "files:guest-image",
         "a cached guest image is empty once its name is durable"),
]  # fmt: skip

BY_NAME = {s.name: s for s in SITES}

# Durability calls no power cut can miss, and why: the mutation check leaves them out.
EXEMPT = {
    ("blockstore/backend/files.py", "clean_tmp"): "start-up recreates files/tmp after "
    "__init__ made it durable; undoing the cleanup brings back stale partial files, which "
    "the next start-up removes again",
}


def dropped(log: Path) -> int:
    """How many calls the mutant took out (0: it never ran where it should)."""
    try:
        return len(log.read_text().splitlines())
    except FileNotFoundError:
        return 0


def mutant_dir(root: Path, site: Site) -> tuple[Path, Path]:
    """A directory holding ``site``'s mutant as ``sitecustomize.py``, and its log."""
    path = root / "mutant"
    path.mkdir(exist_ok=True)
    log = root / "mutant.log"
    (path / "sitecustomize.py").write_text(site.source(log))
    return path, log


def pythonpath_with(site_dir: Path) -> str:
    return os.pathsep.join(filter(None, [str(site_dir), os.environ.get("PYTHONPATH")]))


_PROBES = {
    "objects": "every storage host cut at once (`test_objects.all_hosts_cut`)",
    "volumes": "volume service cuts under API load (`test_volumes`)",
    "iscsi": "target cuts under FUA / SYNCHRONIZE CACHE load (`test_iscsi`)",
    "identity": "identity store cuts under changes (`test_identity`)",
}


def doc_table() -> str:
    """The mutation table of ``docs/durability.md`` (a test keeps the page in step)."""
    rows = [
        "| mutant | takes out | at | caught by | what the cut then loses |",
        "|---|---|---|---|---|",
    ]
    for s in SITES:
        at = f"`{s.file}` `{s.function}`" + (f" `{s.line}`" if s.line else "")
        probe = _PROBES.get(s.probe) or f"`test_small_files` ({s.probe.split(':', 1)[1]})"
        rows.append(f"| `{s.name}` | {s.call} | {at} | {probe} | {s.what} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python -m tests.probe.power.mutants: the table for the docs
    print(doc_table(), end="")
