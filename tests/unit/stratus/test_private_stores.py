"""Every store that holds secrets or tenant bytes makes itself private (0700 / 0600) on its
own, under a loose umask too: the umask of ``stratus.private.service_start`` is a second wall,
not the only one (a store opened by a tool, a test or a library user keeps its modes)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from blockstore.backend import FileBackend
from blockstore.manager import Store
from compute_glue.records import RecordStore
from objectstore.node.kv import LmdbEngine
from stratus.identity import IdentityStore


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what a login shell usually has
    try:
        yield
    finally:
        os.umask(old)


def _open(path: Path) -> list[str]:
    """Entries at or under ``path`` (directories and regular files) open to group or other."""
    found = []
    for here, dirs, files in os.walk(path):
        for p in [Path(here), *(Path(here) / n for n in [*dirs, *files])]:
            st = os.lstat(p)
            if (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)) and st.st_mode & 0o077:
                found.append(f"{p} {stat.S_IMODE(st.st_mode):04o}")
    return sorted(set(found))


STORES: dict[str, Callable[[Path], Any]] = {
    "storage node LMDB (inline object bodies)": lambda p: LmdbEngine(str(p), map_size=1 << 24),
    "volume records (CHAP secrets)": lambda p: Store(p),
    "identity (key hashes, tokens)": lambda p: IdentityStore(p),
    "compute and image records": lambda p: RecordStore(p, ["t"]),
    "volume files": lambda p: FileBackend(p),
}


@pytest.mark.parametrize("name", list(STORES))
def test_each_store_is_private_under_a_loose_umask(
    name: str, tmp_path: Path, loose_umask: None
) -> None:
    root = tmp_path / "data"
    root.mkdir(mode=0o700)
    store = STORES[name](root / "a" / "store")
    try:
        assert (root / "a" / "store").is_dir()
        assert _open(root) == [], name
        assert any(p.is_file() for p in (root / "a").rglob("*")) or name == "volume files"
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
