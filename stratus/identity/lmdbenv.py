"""One LMDB environment per directory per process, shared by every store object.

LMDB forbids opening the same environment twice in one process (closing the
second handle drops the first one's file locks; py-lmdb refuses it), yet
the proxy, the S3 API and the launcher may each open the identity store.
They share one handle here, counted. A handle must not cross fork() either,
and py-lmdb's own registry survives the fork, so a forked child cannot open
an environment its parent holds: child processes must be spawned (exec).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import lmdb

from stratus import durable
from stratus.identity.errors import IdentityError
from stratus.private import private_dir

# The environment only grows as far as it is used; this is the ceiling.
DEFAULT_MAP_SIZE = 1 << 30
SUBDBS = (b"meta", b"projects", b"users", b"tokens", b"token_expiry", b"user_tokens", b"creds")


@dataclass
class _Shared:
    env: lmdb.Environment
    dbs: dict[str, lmdb._Database]
    pid: int
    users: int


_lock = threading.Lock()
_open: dict[str, _Shared] = {}


def acquire(path: Path, map_size: int = DEFAULT_MAP_SIZE) -> tuple[str, _Shared]:
    """Open (or share) the environment in directory ``path``; private (0700/0600)."""
    try:
        private_dir(path)  # 0700, missing parents too
    except OSError as exc:
        raise IdentityError(f"cannot create identity store {path}: {exc}") from None
    key = os.path.realpath(path)
    with _lock:
        shared = _open.get(key)
        if shared is not None:
            if shared.pid != os.getpid():
                raise IdentityError(
                    f"{key} was opened before this process forked; "
                    "open it from a spawned process instead"
                )
            shared.users += 1
            return key, shared
        env = None
        try:
            env = lmdb.open(
                key,
                map_size=map_size,
                max_dbs=len(SUBDBS),
                mode=0o600,
                subdir=True,
                lock=True,
                sync=True,
                metasync=True,
                readahead=False,
            )
            env.reader_check()  # free reader slots left by processes that died
            # The store's files and the directories made above them keep their names
            # through a power cut (strict POSIX: a new name is durable once its
            # directory is fsynced); LMDB syncs only the files' contents.
            durable.sync_entries(key, levels=2)
            dbs = {name.decode(): env.open_db(name) for name in SUBDBS}
        except (lmdb.Error, OSError) as exc:
            if env is not None:
                env.close()
            raise IdentityError(f"cannot open identity store {key}: {exc}") from None
        shared = _Shared(env=env, dbs=dbs, pid=os.getpid(), users=1)
        _open[key] = shared
        return key, shared


def release(key: str, shared: _Shared) -> None:
    """Drop one user; the last one closes the environment."""
    with _lock:
        shared.users -= 1
        if shared.users > 0:
            return
        if _open.get(key) is shared:
            del _open[key]
        shared.env.close()
