"""Quarantine: set a corrupt replica aside, never delete it, and let replication heal.

The body is moved (a rename on the same filesystem) or, when inline,
written out to ``<device>/quarantined/objects/<key>.<timestamp>.<n>.data``
with a ``.json`` note beside it saying what the index claimed. Then the
index entry is removed without a tombstone: this device no longer claims
the object, reads go to the other replicas, and their replicators push a
good copy back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets

from objectstore.node import merge
from objectstore.node.device import Device
from objectstore.node.objects import INLINE_TABLE
from objectstore.node.records import FILE, INLINE, ObjectRecord
from objectstore.timestamp import Timestamp

log = logging.getLogger(__name__)
QUARANTINE_DIR = os.path.join("quarantined", "objects")


def quarantine_dir(dev: Device) -> str:
    return os.path.join(dev.root, QUARANTINE_DIR)


def _private(path: str, flags: int) -> int:
    """open()'s opener: a new file only its owner can read (object bodies and names)."""
    return os.open(path, flags, 0o600)


def _set_aside(dev: Device, key: bytes, rec: ObjectRecord, inline: bytes | None, by: str) -> str:
    """Move (or write) the body into the quarantine directory; returns its path ("" if gone)."""
    qdir = quarantine_dir(dev)
    os.makedirs(qdir, mode=0o700, exist_ok=True)
    base = f"{key.hex()}.{Timestamp.from_ticks(rec.timestamp).normal}.{secrets.token_hex(4)}"
    dest = os.path.join(qdir, base + ".data")
    if rec.kind == FILE:
        try:
            os.rename(dev.body_path(rec.path), dest)
        except FileNotFoundError:
            dest = ""
    elif rec.kind == INLINE:
        with open(dest, "wb", opener=_private) as fh:
            fh.write(inline or b"")
    note = {"name": rec.name, "etag": rec.etag, "size": rec.size, "by": by, "path": rec.path}
    with open(os.path.join(qdir, base + ".json"), "w", opener=_private) as fh:
        json.dump(note, fh)
    return dest


async def quarantine(dev: Device, key: bytes, rec: ObjectRecord, by: str) -> bool:
    """Set the replica ``rec`` of ``key`` aside; False if it changed meanwhile."""
    inline = None
    if rec.kind == INLINE:
        with dev.read() as txn:
            raw = txn.get(INLINE_TABLE, key)
        inline = bytes(raw) if raw is not None else b""
    loop = asyncio.get_running_loop()
    dest = await loop.run_in_executor(None, _set_aside, dev, key, rec, inline, by)
    removed = await dev.submit(merge.quarantine_op(dev.root, key, rec))
    if removed:
        log.warning(
            "quarantined %s (etag %s) on %s, found by %s: %s",
            rec.name,
            rec.etag,
            dev.name,
            by,
            dest or "body file missing",
        )
    elif rec.kind == FILE and dest:
        # A newer version replaced the entry meanwhile: the moved file was its old
        # body, garbage anyway, but it stays in quarantine rather than vanish.
        log.info("quarantined an outdated body of %s on %s", rec.name, dev.name)
    return bool(removed)
