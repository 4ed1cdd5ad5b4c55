"""The key-value seam under a device: named tables of sorted byte keys.

Everything a device stores (object index, inline bodies, container and
account listings, the durable update queue) is written through this small
interface, so the logic above it runs unchanged on LMDB (production) and on
an in-memory engine (tests; the second implementation that keeps the seam
honest). Both give snapshot reads and one atomic write transaction at a
time; ``Engine.write`` returns only once the transaction is durable.
"""

from __future__ import annotations

import bisect
import errno
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, Protocol, TypeVar

import lmdb

from stratus.private import private_dir

T = TypeVar("T")

TABLES = (
    "objects",  # part(4) + name hash(16) -> object record
    "inline",  # same key -> small body bytes
    "pending",  # time-ordered key -> queued container row update
    "cinfo",  # part(4) + hash(a, c) -> container info
    "crows",  # hash(a, c) + object name -> object row
    "cdirty",  # part(4) + hash(a, c) -> change counter: stats to report to the account
    "ainfo",  # part(4) + hash(a) -> account info
    "arows",  # hash(a) + container name -> container row
    "hashes",  # part(4) -> cached suffix hashes of the partition's objects, or a dirty mark
    "expiry",  # delete_at(8) + object key -> b"": objects the expirer must delete
)


#: LMDB's key limit (``mdb_env_get_maxkeysize`` of the default build); the
#: memory engine enforces it too, so a key scheme that breaks it fails in tests.
MAX_KEY_SIZE = 511

#: Failures of the engine itself: they spoil the whole transaction, not one op.
ENGINE_ERRORS: tuple[type[BaseException], ...] = (lmdb.Error, OSError)


class ReadTxn(Protocol):
    def get(self, table: str, key: bytes) -> bytes | None: ...

    def scan(
        self, table: str, start: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Forward: keys >= start. Reverse: keys < start, newest first (b"" = from the end)."""
        ...


class WriteTxn(ReadTxn, Protocol):
    #: Body files to unlink once the transaction is durable (old versions).
    garbage: list[str]

    def put(self, table: str, key: bytes, value: bytes) -> None: ...

    def delete(self, table: str, key: bytes) -> None: ...


class Engine(Protocol):
    def read(self) -> AbstractContextManager[ReadTxn]: ...

    def write(self, fn: Callable[[WriteTxn], T]) -> T:
        """Run ``fn`` in one write transaction and commit it durably (blocking)."""
        ...

    def close(self) -> None: ...


# --- LMDB ---------------------------------------------------------------------
class _LmdbRead:
    __slots__ = ("dbs", "txn")

    def __init__(self, txn: lmdb.Transaction[bytes], dbs: dict[str, Any]) -> None:
        self.txn = txn
        self.dbs = dbs

    def get(self, table: str, key: bytes) -> bytes | None:
        return self.txn.get(key, db=self.dbs[table])

    def scan(
        self, table: str, start: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        cur = self.txn.cursor(db=self.dbs[table])
        if not reverse:
            if cur.set_range(start):
                yield from cur.iternext(keys=True, values=True)
            return
        found = cur.prev() if start and cur.set_range(start) else cur.last()
        if found:
            yield from cur.iterprev(keys=True, values=True)


class _LmdbWrite(_LmdbRead):
    __slots__ = ("garbage",)

    def __init__(self, txn: lmdb.Transaction[bytes], dbs: dict[str, Any]) -> None:
        super().__init__(txn, dbs)
        self.garbage: list[str] = []

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.txn.put(key, value, db=self.dbs[table])

    def delete(self, table: str, key: bytes) -> None:
        self.txn.delete(key, db=self.dbs[table])


class LmdbEngine:
    """One LMDB environment per device; ``sync`` makes every commit durable."""

    def __init__(self, path: str, *, sync: bool = True, map_size: int = 1 << 40) -> None:
        private_dir(path)  # inline bodies: owner only (0700, missing parents too)
        self.env = lmdb.open(
            path,
            mode=0o600,
            map_size=map_size,
            max_dbs=len(TABLES) + 2,
            max_readers=1024,
            sync=sync,
            metasync=sync,
            readahead=False,
            lock=True,
        )
        self.dbs = {name: self.env.open_db(name.encode()) for name in TABLES}

    @contextmanager
    def read(self) -> Iterator[ReadTxn]:
        with self.env.begin(buffers=False) as txn:
            yield _LmdbRead(txn, self.dbs)

    def write(self, fn: Callable[[WriteTxn], T]) -> T:
        try:
            with self.env.begin(write=True) as txn:
                w = _LmdbWrite(txn, self.dbs)
                result = fn(w)
        except lmdb.MapFullError as exc:  # the device is "full": 507, like ENOSPC
            raise OSError(errno.ENOSPC, "LMDB map is full") from exc
        # Leaving the block committed (and, with sync on, fsynced) the txn.
        _unlink_all(w.garbage)
        return result

    def close(self) -> None:
        self.env.close()


# --- memory -------------------------------------------------------------------
class _Table:
    """An immutable sorted snapshot: replaced whole by each commit."""

    __slots__ = ("data", "keys")

    def __init__(self, data: dict[bytes, bytes]) -> None:
        self.data = data
        self.keys = sorted(data)


class _MemRead:
    def __init__(self, tables: dict[str, _Table]) -> None:
        self.tables = tables

    def get(self, table: str, key: bytes) -> bytes | None:
        return self.tables[table].data.get(key)

    def scan(
        self, table: str, start: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        t = self.tables[table]
        if not reverse:
            for i in range(bisect.bisect_left(t.keys, start), len(t.keys)):
                yield t.keys[i], t.data[t.keys[i]]
            return
        i = bisect.bisect_left(t.keys, start) if start else len(t.keys)
        for j in range(i - 1, -1, -1):
            yield t.keys[j], t.data[t.keys[j]]


class _MemWrite(_MemRead):
    def __init__(self, tables: dict[str, _Table]) -> None:
        super().__init__(tables)
        self.changes: dict[str, dict[bytes, bytes | None]] = {}
        self.garbage: list[str] = []

    def get(self, table: str, key: bytes) -> bytes | None:
        changed = self.changes.get(table, {})
        if key in changed:
            return changed[key]
        return super().get(table, key)

    def scan(
        self, table: str, start: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        merged = dict(self.tables[table].data)
        for key, value in self.changes.get(table, {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return _MemRead({table: _Table(merged)}).scan(table, start, reverse)

    def put(self, table: str, key: bytes, value: bytes) -> None:
        if not 0 < len(key) <= MAX_KEY_SIZE:
            raise lmdb.BadValsizeError("mdb_put: MDB_BAD_VALSIZE (memory engine)")
        self.changes.setdefault(table, {})[bytes(key)] = bytes(value)

    def delete(self, table: str, key: bytes) -> None:
        self.changes.setdefault(table, {})[bytes(key)] = None


class MemoryEngine:
    """Snapshot-isolated tables in memory (copy on commit: for tests only)."""

    def __init__(self) -> None:
        self.tables = {name: _Table({}) for name in TABLES}
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[ReadTxn]:
        yield _MemRead(self.tables)

    def write(self, fn: Callable[[WriteTxn], T]) -> T:
        with self._lock:
            w = _MemWrite(self.tables)
            result = fn(w)
            tables = dict(self.tables)
            for name, changes in w.changes.items():
                data = dict(tables[name].data)
                for key, value in changes.items():
                    if value is None:
                        data.pop(key, None)
                    else:
                        data[key] = value
                tables[name] = _Table(data)
            self.tables = tables
        _unlink_all(w.garbage)
        return result

    def close(self) -> None:
        pass


def _unlink_all(paths: list[str]) -> None:
    for path in paths:
        with suppress(FileNotFoundError):
            os.unlink(path)
