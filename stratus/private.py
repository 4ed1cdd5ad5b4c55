"""Data files are the service user's alone: the umask, private directories, the start-up check.

Every Stratus data file can hold something another local user must not read:
CHAP secrets in the volume records, object bodies inlined in the storage
nodes' LMDB, key hashes and tokens in the identity store, volume bytes. So a
service process starts with :func:`service_start`: umask 0o077 (new files
0600, new directories 0700), its data directories made 0700, and a refusal
to run when an existing file or directory there is open to group or other
(a directory made before this rule, or by hand) - the error names the path
and the fix, ``chmod -R go-rwx PATH``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path

from stratus import durable
from stratus.config import ConfigError

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
OPEN_BITS = 0o077  # group and other: none of them may be set on a data file
# Entries a start-up check looks at in one tree: a directory that is private hides
# everything below it, so the walk is a guard against old modes, not the only defence,
# and stays short on a storage node with millions of objects.
CHECK_LIMIT = 20_000


class ExposedData(ConfigError):
    """A data file or directory is readable or writable by other local users."""


def restrict_umask() -> None:
    """New files 0600, new directories 0700, for the rest of this process (and children)."""
    os.umask(UMASK)


def private_dir(path: str | Path) -> Path:
    """``path`` made 0700, and so is every missing parent (``mkdir -p`` would make those
    0777 less the umask); an existing directory is left as it is."""
    p = Path(path)
    missing = [d for d in (p, *p.parents) if not d.exists()]
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            d.mkdir(mode=DIR_MODE)
    if not p.is_dir():
        raise NotADirectoryError(f"{p} is not a directory")
    return p


def write_private(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write a file only its owner can read (0600), atomically and durably.

    Without ``replace`` the file is written only if ``path`` does not exist yet
    (a key made on first use by whichever process comes first): False when
    another writer was first, and its file stays.
    """
    made = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic, and never over another writer's file
            except FileExistsError:
                return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    for directory in made:  # new directories: durable once their parents are fsynced
        durable.fsync_dir(directory.parent)
    return True


def check_private(root: str | Path, *, limit: int = CHECK_LIMIT) -> None:
    """Raise ExposedData when ``root`` or what it holds is open to group or other.

    Walks at most ``limit`` entries, ``root`` and its directories first; symbolic
    links are not followed (their own mode means nothing). A missing root is fine.
    """
    top = Path(root)
    try:
        _check_one(top, top, os.lstat(top))
    except FileNotFoundError:
        return
    seen, pending = 1, [top]
    while pending and seen < limit:
        here = pending.pop()
        try:
            entries = list(os.scandir(here))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            if seen >= limit:
                return
            seen += 1
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            _check_one(top, Path(entry.path), st)
            if stat.S_ISDIR(st.st_mode):
                pending.append(Path(entry.path))


def _check_one(top: Path, path: Path, st: os.stat_result) -> None:
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        return
    if st.st_mode & OPEN_BITS:
        kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
        raise ExposedData(
            f"data {kind} {path} is open to other local users (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); Stratus keeps its data private to its own "
            f"user. Fix it with: chmod -R go-rwx {top}"
        )


def service_start(*roots: str | Path) -> None:
    """What every service process does first: restrict the umask, refuse exposed data
    under ``roots``, and make the roots (0700) when they are missing."""
    restrict_umask()
    for root in roots:
        check_private(root)
    for root in roots:
        private_dir(root)
