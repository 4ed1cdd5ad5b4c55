"""The auditor: re-read every stored body, at a bounded rate, and check it against its ETag.

Bit rot, a torn write or a hand that edited a file shows up here before a
client asks for the object. A replica whose bytes do not hash to its ETag
(or whose body file is gone) is quarantined: the body is moved aside to
``<device>/quarantined/objects/`` (never deleted: an operator may want it)
and its index entry is removed without a tombstone, so the replicator of
another replica sees the hole and fills it with a good copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from typing import TYPE_CHECKING, Any

from objectstore.node.device import Device
from objectstore.node.objects import INLINE_TABLE, OBJECTS
from objectstore.node.records import FILE, INLINE, ObjectRecord
from objectstore.node.worker import Pacer, Worker

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024
SCAN_BATCH = 256


class Auditor(Worker):
    name = "auditor"

    def __init__(self, state: NodeState) -> None:
        s = state.settings
        super().__init__(s.auditor_interval)
        self.state = state
        self.bytes = Pacer(s.auditor_bytes_per_second)
        self.files = Pacer(s.auditor_files_per_second)

    def after_pass(self, result: dict[str, Any], seconds: float) -> None:
        self.state.metrics.worker_done(self.name, result, seconds, self.last_end)

    async def run_pass(self) -> dict[str, Any]:
        stats = {"checked": 0, "bytes": 0, "quarantined": 0, "errors": 0}
        for dev in self.state.live_devices():
            await self.audit_device(dev, stats)
        return stats

    async def audit_device(self, dev: Device, stats: dict[str, Any]) -> None:
        start = b""
        while dev.unavailable is None:
            batch = _next_batch(dev, start)
            if not batch:
                return
            start = batch[-1][0] + b"\x00"
            for key, rec in batch:
                if rec.kind not in (INLINE, FILE):
                    continue
                await self.files.spend(1)
                try:
                    good = await self.check(dev, key, rec)
                except OSError as exc:
                    stats["errors"] += 1
                    self.state.io_error(dev, exc)
                    if dev.unavailable is not None:
                        return
                    continue
                stats["checked"] += 1
                stats["bytes"] += rec.size
                self.state.metrics.audited.inc()
                self.state.metrics.audited_bytes.inc(rec.size)
                if not good and await self.state.quarantine(dev, key, rec, self.name):
                    stats["quarantined"] += 1

    async def check(self, dev: Device, key: bytes, rec: ObjectRecord) -> bool:
        """True when the replica's bytes hash to its ETag (or it changed meanwhile)."""
        md5 = hashlib.md5(usedforsecurity=False)
        if rec.kind == INLINE:
            with dev.read() as txn:
                if not _unchanged(txn, key, rec):
                    return True
                body = txn.get(INLINE_TABLE, key)
            await self.bytes.spend(rec.size)
            md5.update(bytes(body) if body is not None else b"")
            return md5.hexdigest() == rec.etag
        loop = asyncio.get_running_loop()
        try:
            fd = os.open(dev.body_path(rec.path), os.O_RDONLY)
        except FileNotFoundError:
            with dev.read() as txn:
                return not _unchanged(txn, key, rec)  # a body that vanished under its entry
        try:
            offset = 0
            while True:
                chunk = await loop.run_in_executor(None, os.pread, fd, CHUNK, offset)
                if not chunk:
                    break
                await self.bytes.spend(len(chunk))
                md5.update(chunk)
                offset += len(chunk)
        finally:
            os.close(fd)
        return offset == rec.size and md5.hexdigest() == rec.etag


def _unchanged(txn: Any, key: bytes, rec: ObjectRecord) -> bool:
    raw = txn.get(OBJECTS, key)
    if raw is None:
        return False
    cur = ObjectRecord.decode(raw)
    return (cur.timestamp, cur.meta_timestamp, cur.path) == (
        rec.timestamp,
        rec.meta_timestamp,
        rec.path,
    )


def _next_batch(dev: Device, start: bytes) -> list[tuple[bytes, ObjectRecord]]:
    """The next few entries from ``start`` (short read transactions, not one per pass)."""
    out = []
    with dev.read() as txn:
        for key, raw in txn.scan(OBJECTS, start):
            out.append((bytes(key), ObjectRecord.decode(raw)))
            if len(out) >= SCAN_BATCH:
                break
    return out
