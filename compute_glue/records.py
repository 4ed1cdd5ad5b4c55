"""Durable records of the compute glue: LMDB, one version byte + a msgpack map per value.

Images, networks and servers each keep their records in their own LMDB
environment (one per service directory), in named tables. Every write
transaction is synced before it returns, so a state change is durable
before the API answers. Values carry a version byte so the format can
change later with a decoder that still reads the old one; never pickle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lmdb
import msgpack

from stratus import durable
from stratus.private import private_dir

RECORD_VERSION = 1
DEFAULT_MAP_SIZE = 1 << 30
MAX_KEY = 511  # LMDB's limit: a longer (or empty) key is an error, not a miss


class RecordError(Exception):
    """A stored value is corrupt, of an unknown version, or the store is unusable."""


def encode(fields: dict[str, Any]) -> bytes:
    """A versioned value: version byte + msgpack map."""
    return bytes([RECORD_VERSION]) + msgpack.packb(fields, use_bin_type=True)


def decode(raw: bytes, kind: str) -> dict[str, Any]:
    """Read a value written by :func:`encode` (any version this code knows)."""
    if not raw:
        raise RecordError(f"empty {kind} record")
    if raw[0] != RECORD_VERSION:
        raise RecordError(f"{kind} record has unknown format version {raw[0]}")
    try:
        value = msgpack.unpackb(raw[1:], raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise RecordError(f"corrupt {kind} record: {exc}") from None
    if not isinstance(value, dict):
        raise RecordError(f"corrupt {kind} record: not a map")
    return value


def _lookup_key(key: str) -> bytes | None:
    """``key`` as stored, or None when no record can have it (empty, too long, not UTF-8)."""
    try:
        raw = key.encode()
    except UnicodeEncodeError:
        return None
    return raw if 0 < len(raw) <= MAX_KEY else None


class Txn:
    """One LMDB transaction seen as tables of ``key -> dict``."""

    def __init__(self, txn: lmdb.Transaction[bytes], dbs: dict[str, Any]) -> None:
        self._txn = txn
        self._dbs = dbs

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """The record, or None; keys no record can have (from a URL or a body) find nothing."""
        k = _lookup_key(key)
        if k is None:
            return None
        raw = self._txn.get(k, db=self._dbs[table])
        return None if raw is None else decode(bytes(raw), table)

    def put(self, table: str, key: str, value: dict[str, Any]) -> None:
        self._txn.put(key.encode(), encode(value), db=self._dbs[table])

    def delete(self, table: str, key: str) -> bool:
        k = _lookup_key(key)
        return k is not None and bool(self._txn.delete(k, db=self._dbs[table]))

    def scan(self, table: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        """Every ``(key, value)`` of the table whose key starts with ``prefix``, sorted."""
        out = []
        cur = self._txn.cursor(db=self._dbs[table])
        start = prefix.encode()
        if cur.set_range(start):
            for k, v in cur:
                key = bytes(k)  # bytes already (no buffers=True): for the type checker
                if not key.startswith(start):
                    break
                out.append((key.decode(), decode(bytes(v), table)))
        return out


class RecordStore:
    """An LMDB environment with named tables; private to its directory (0700/0600)."""

    def __init__(
        self, path: str | Path, tables: Sequence[str], *, map_size: int = DEFAULT_MAP_SIZE
    ) -> None:
        self.path = Path(path)
        try:
            private_dir(self.path)  # 0700, missing parents too
            self._env = lmdb.open(
                os.fspath(self.path),
                map_size=map_size,
                max_dbs=len(tables) + 1,
                mode=0o600,
                subdir=True,
                sync=True,
                metasync=True,
                readahead=False,
            )
            self._env.reader_check()
            # The records' files and the directories made above them keep their names
            # through a power cut (strict POSIX: a name is durable once its directory is).
            durable.sync_entries(self.path, levels=2)
            self._dbs = {t: self._env.open_db(t.encode()) for t in tables}
        except lmdb.Error as exc:
            raise RecordError(f"cannot open records in {self.path}: {exc}") from None
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._env.close()

    @contextmanager
    def read(self) -> Iterator[Txn]:
        self._check()
        with self._env.begin() as txn:
            yield Txn(txn, self._dbs)

    @contextmanager
    def write(self) -> Iterator[Txn]:
        """A write transaction, committed (and synced) when the block ends without error."""
        self._check()
        try:
            with self._env.begin(write=True) as txn:
                yield Txn(txn, self._dbs)
        except lmdb.MapFullError:
            raise RecordError(f"records in {self.path} are full") from None

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        with self.read() as t:
            return t.get(table, key)

    def put(self, table: str, key: str, value: dict[str, Any]) -> None:
        with self.write() as t:
            t.put(table, key, value)

    def delete(self, table: str, key: str) -> bool:
        with self.write() as t:
            return t.delete(table, key)

    def scan(self, table: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        with self.read() as t:
            return t.scan(table, prefix)

    def _check(self) -> None:
        if self._closed:
            raise RecordError(f"records in {self.path} are closed")
