"""The manager's records in one LMDB environment, one sub-database per kind.

Writes run one at a time on a dedicated thread (``await store.write(fn)``),
so the event loop never waits for the fsync that every commit does: a
transition is durable when ``write`` returns, before the API answers. ``fn``
gets a :class:`Txn` and may read, check and write in the same transaction,
so a state check and the change it guards cannot interleave with another
request. Reads (``store.read``) are short and run on the caller's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from blockstore.manager.errors import BackendError
from blockstore.manager.records import (
    KINDS,
    Record,
    project_prefix,
    record_key,
)
from stratus import durable
from stratus.private import private_dir

R = TypeVar("R", bound=Record)
T = TypeVar("T")
DEFAULT_MAP_SIZE = 1 << 30  # sparse: pages are allocated as records are written
LAYOUT = b"\x01"


class Txn:
    """Typed access to records inside one LMDB transaction."""

    def __init__(self, txn: lmdb.Transaction[bytes], dbs: dict[str, Any]) -> None:
        self._txn = txn
        self._dbs = dbs

    def get(self, cls: type[R], project: str, ident: str) -> R | None:
        raw = self._txn.get(
            record_key(project if cls.scoped else "", ident), db=self._dbs[cls.kind]
        )
        return None if raw is None else cls.decode(raw)

    def put(self, record: Record) -> None:
        record.touch()
        self._txn.put(record.key(), record.encode(), db=self._dbs[record.kind])

    def delete(self, record: Record) -> bool:
        return self._txn.delete(record.key(), db=self._dbs[record.kind])

    def scan(self, cls: type[R], project: str | None = None) -> list[R]:
        """Every record of ``cls`` (of one project when given), in key order."""
        prefix = b"" if project is None or not cls.scoped else project_prefix(project)
        out = []
        with self._txn.cursor(db=self._dbs[cls.kind]) as cur:
            if not cur.set_range(prefix):
                return out
            for key, raw in cur:
                if not key.startswith(prefix):
                    break
                out.append(cls.decode(raw))
        return out


class Store:
    """LMDB environment of the volume manager (``<dir>/records``)."""

    def __init__(self, path: str | Path, *, map_size: int = DEFAULT_MAP_SIZE) -> None:
        self.path = Path(path)
        private_dir(self.path)  # CHAP secrets: owner only (0700, missing parents too)
        self._env = lmdb.open(
            str(self.path),
            map_size=map_size,
            max_dbs=len(KINDS) + 1,
            sync=True,
            metasync=True,
            mode=0o600,
        )
        # The records' files, and the directories made above them, exist before the
        # first write is acknowledged and keep their names through a power cut (strict
        # POSIX: a new name is durable once its directory is fsynced).
        durable.sync_entries(self.path, levels=2)
        self._dbs = {cls.kind: self._env.open_db(cls.kind.encode()) for cls in KINDS}
        self._dbs["meta"] = self._env.open_db(b"meta")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="volume-store")
        self._closed = False
        self.write_now(self._init_layout)

    def _init_layout(self, txn: Txn) -> None:
        raw = txn._txn.get(b"layout", db=self._dbs["meta"])
        if raw is None:
            txn._txn.put(b"layout", LAYOUT, db=self._dbs["meta"])
        elif raw != LAYOUT:
            raise BackendError(f"volume records at {self.path} have unknown layout {raw!r}")

    def read(self, fn: Callable[[Txn], T]) -> T:
        self._check()
        with self._env.begin() as txn:
            return fn(Txn(txn, self._dbs))

    def write_now(self, fn: Callable[[Txn], T]) -> T:
        """Run ``fn`` in a write transaction on this thread and commit (durable)."""
        self._check()
        try:
            with self._env.begin(write=True) as txn:
                return fn(Txn(txn, self._dbs))
        except lmdb.MapFullError:
            raise BackendError(f"volume record store {self.path} is full") from None

    async def write(self, fn: Callable[[Txn], T]) -> T:
        """``write_now`` on the store's writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.write_now, fn)

    def get(self, cls: type[R], project: str, ident: str) -> R | None:
        return self.read(lambda t: t.get(cls, project, ident))

    def scan(self, cls: type[R], project: str | None = None) -> list[R]:
        return self.read(lambda t: t.scan(cls, project))

    def _check(self) -> None:
        if self._closed:
            raise BackendError("volume record store is closed")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True)
            self._env.close()
