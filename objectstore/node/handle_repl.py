"""Replication endpoints: what a replicator asks of, and pushes to, its peers.

Everything received is checked as if it came from a client: the record must
decode, its name must hash to the key it is sent under, its body must match
its ETag (so a corrupt replica is refused, never spread), and every write
goes through the same last-writer-wins merge as local writes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
from typing import TYPE_CHECKING, Any

import msgpack
from aiohttp import web

from objectstore.common import wire
from objectstore.node import dbsync, hashes, merge
from objectstore.node.bodies import BodySink
from objectstore.node.device import Device
from objectstore.node.handle_objects import receive_body
from objectstore.node.records import (
    FILE,
    INLINE,
    TOMBSTONE,
    AccountInfoRecord,
    ContainerInfoRecord,
    ContainerRowRecord,
    CorruptRecord,
    ObjectRecord,
    ObjectRowRecord,
)
from objectstore.node.requests import MAX_OBJECT_SIZE
from objectstore.timestamp import Timestamp

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

MAX_REPL_BODY = 16 * 1024 * 1024
MAX_SUFFIXES = hashes.SUFFIXES
# A client's Content-Type (up to Swift's 8 KiB header) plus what the proxy appends
# (a symlink's target as listing parameters).
MAX_CONTENT_TYPE = 16 * 1024


def _answer(value: Any) -> web.Response:
    body = msgpack.packb([wire.REPL_VERSION, value], use_bin_type=True)
    return web.Response(body=body, headers={"Content-Type": wire.MSGPACK})


async def _read(req: web.Request) -> Any:
    if req.content_length is None or req.content_length > MAX_REPL_BODY:
        raise wire.InvalidName("replication body missing or too large")
    try:
        version, value = msgpack.unpackb(await req.read(), raw=False, strict_map_key=False)
    except Exception:
        raise wire.InvalidName("replication body is not msgpack") from None
    if version != wire.REPL_VERSION:
        raise wire.InvalidName(f"unknown replication version {version!r}")
    return value


def _bad(what: str) -> wire.InvalidName:
    return wire.InvalidName(f"bad replicated {what}")


def incoming_record(dev: Device, key16: Any, raw: Any) -> ObjectRecord:
    """Decode and check an object record sent by a peer (InvalidName if unfit)."""
    if not isinstance(key16, bytes) or len(key16) != 16 or not isinstance(raw, bytes):
        raise _bad("key")
    try:
        rec = ObjectRecord.decode(raw)
    except (CorruptRecord, TypeError, ValueError):
        raise _bad("record") from None
    if not isinstance(rec.name, str) or rec.name.count("/") < 2:
        raise _bad("name")
    a, c, o = rec.name.split("/", 2)
    wire.check_name("account", a, wire.MAX_ACCOUNT_NAME)
    wire.check_name("container", c, wire.MAX_CONTAINER_NAME)
    wire.check_name("object", o, wire.MAX_OBJECT_NAME)
    if dev.hasher(a, c, o) != key16:
        raise _bad("key: the name does not hash to it")
    for value in (rec.timestamp, rec.meta_timestamp):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad("timestamp")
        Timestamp.from_ticks(value)  # ValueError when out of range
    if rec.timestamp <= 0 or rec.kind not in (TOMBSTONE, INLINE, FILE):
        raise _bad("record")
    if rec.kind != TOMBSTONE:
        if not isinstance(rec.size, int) or not 0 <= rec.size <= MAX_OBJECT_SIZE:
            raise _bad("size")
        if not isinstance(rec.etag, str) or len(rec.etag) != 32:
            raise _bad("etag")
        if not isinstance(rec.content_type, str) or len(rec.content_type) > MAX_CONTENT_TYPE:
            raise _bad("content type")
        if not isinstance(rec.metadata, dict):
            raise _bad("metadata")
        wire.check_metadata(rec.metadata)
        if rec.delete_at is not None and (
            isinstance(rec.delete_at, bool) or not isinstance(rec.delete_at, int)
        ):
            raise _bad("delete-at")
    rec.path = ""
    return rec


async def _write_body(dev: Device, sink: BodySink, data: bytes) -> None:
    if len(data) > dev.config.inline_threshold:
        sink.spill()
        await asyncio.get_running_loop().run_in_executor(None, sink.write, data)
    else:
        sink.write(data)


async def _store(
    state: NodeState,
    dev: Device,
    part: int,
    key: bytes,
    rec: ObjectRecord,
    sink: BodySink | None,
    meta_only: bool,
) -> int:
    """Merge one replicated entry whose body (if any) is in ``sink``; its status."""
    inline = None
    rel = ""
    if sink is not None:
        if sink.size != rec.size or sink.etag != rec.etag:
            sink.abort()
            return 422  # the sender's replica is corrupt: it quarantines it
        inline = sink.inline
        if inline is None:
            try:
                rel = await dev.commit_body(
                    sink, part, key, Timestamp.from_ticks(rec.timestamp).normal
                )
            except BaseException:
                sink.abort()
                raise
        rec.kind, rec.path = (INLINE, "") if inline is not None else (FILE, rel)
    elif rec.kind != TOMBSTONE and not meta_only:
        return 400
    status = await dev.submit(merge.merge_op(dev.root, key, rec, inline, meta_only=meta_only))
    if status != merge.STORED and rel:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dev.body_path(rel))
    return status


# --- objects ------------------------------------------------------------------
async def _object_hashes(
    state: NodeState, req: web.Request, dev: Device, part: int
) -> web.Response:
    dev.check_readable()
    return _answer(await hashes.get_hashes(dev, part, state.reclaim_before()))


async def _object_list(state: NodeState, req: web.Request, dev: Device, part: int) -> web.Response:
    dev.check_readable()
    suffixes = await _read(req)
    if (
        not isinstance(suffixes, list)
        or len(suffixes) > MAX_SUFFIXES
        or not all(isinstance(s, int) and 0 <= s < MAX_SUFFIXES for s in suffixes)
    ):
        raise wire.InvalidName("bad suffix list")
    found = await hashes.read_entries(dev, part, suffixes, state.reclaim_before())
    return _answer([[k[4:], r.timestamp, r.meta_timestamp, r.kind == TOMBSTONE] for k, r in found])


async def _object_push(state: NodeState, req: web.Request, dev: Device, part: int) -> web.Response:
    items = await _read(req)
    if not isinstance(items, list):
        raise wire.InvalidName("bad push batch")
    dev.check_writable(req.content_length or 0)
    statuses = []
    prefix = part.to_bytes(4, "big")
    for item in items:
        try:
            key16, raw, body, meta_only = item
            rec = incoming_record(dev, key16, raw)
            if body is not None and not isinstance(body, bytes):
                raise _bad("body")
        except (wire.InvalidName, ValueError, TypeError):
            statuses.append(400)
            continue
        sink = None
        if body is not None:
            sink = dev.new_sink()
            try:
                await _write_body(dev, sink, body)
            except BaseException:
                sink.abort()
                raise
        statuses.append(await _store(state, dev, part, prefix + key16, rec, sink, bool(meta_only)))
    return _answer(statuses)


async def _object_body(state: NodeState, req: web.Request, dev: Device, part: int) -> web.Response:
    try:
        key16 = binascii.unhexlify(req.headers.get(wire.OBJECT_KEY, ""))
        raw = base64.b64decode(req.headers.get(wire.RECORD, ""), validate=True)
    except (binascii.Error, ValueError):
        raise _bad("headers") from None
    rec = incoming_record(dev, key16, raw)
    if rec.kind == TOMBSTONE or req.content_length != rec.size:
        raise _bad("body length")
    dev.check_writable(rec.size)
    key = part.to_bytes(4, "big") + key16
    sink = await receive_body(req, dev, req.content_length)
    status = await _store(state, dev, part, key, rec, sink, False)
    return web.Response(status=200, body=msgpack.packb([wire.REPL_VERSION, status]))


# --- containers and accounts -------------------------------------------------
async def _db_digests(
    state: NodeState, req: web.Request, dev: Device, part: int, kind: str
) -> web.Response:
    dev.check_readable()
    with dev.read() as txn:
        return _answer(dbsync.digests(txn, kind, part))


def _check_db(dev: Device, kind: str, owner: Any, info_raw: Any, rows: Any) -> Any:
    if not isinstance(owner, bytes) or len(owner) != 16 or not isinstance(info_raw, bytes):
        raise _bad("owner")
    if not isinstance(rows, list):
        raise _bad("rows")
    try:
        info = dbsync.decode_info(kind, info_raw)
    except (CorruptRecord, TypeError, ValueError):
        raise _bad("info") from None
    wire.check_name("account", info.account, wire.MAX_ACCOUNT_NAME)
    if isinstance(info, ContainerInfoRecord):
        wire.check_name("container", info.container, wire.MAX_CONTAINER_NAME)
        if dev.hasher(info.account, info.container, None) != owner:
            raise _bad("owner: the name does not hash to it")
    elif dev.hasher(info.account, None, None) != owner:
        raise _bad("owner: the name does not hash to it")
    if not isinstance(info.metadata, dict) or not all(
        isinstance(v, list) and len(v) == 2 for v in info.metadata.values()
    ):
        raise _bad("metadata")
    row_cls = ObjectRowRecord if kind == "c" else ContainerRowRecord
    limit = wire.MAX_OBJECT_NAME if kind == "c" else wire.MAX_CONTAINER_NAME
    clean = []
    for row in rows:
        try:
            name, value = row
            wire.check_name("object" if kind == "c" else "container", name.decode(), limit)
            clean.append((name, row_cls.decode(value).encode()))  # canonical bytes
        except (ValueError, TypeError, AttributeError, CorruptRecord):
            raise _bad("row") from None
    return info, clean


async def _db_push(
    state: NodeState, req: web.Request, dev: Device, part: int, kind: str
) -> web.Response:
    body = await _read(req)
    try:
        owner, info_raw, rows = body
    except (TypeError, ValueError):
        raise _bad("push") from None
    info, clean = _check_db(dev, kind, owner, info_raw, rows)
    dev.check_writable(req.content_length or 0)
    update = None
    if isinstance(info, ContainerInfoRecord):
        update = state.account_update_for(dev, part, info.account)
    changed = await dev.submit(dbsync.merge_op(kind, part, owner, info, clean, update))
    if kind == "c" and changed:
        state.reporter.wake.set()
    return _answer(changed)


async def route(
    state: NodeState, req: web.Request, dev: Device, kind: str, rest: list[str]
) -> web.StreamResponse:
    """``/<kind>/<device>/<part>[/<action>]`` for kind ro, rc, ra."""
    if not 1 <= len(rest) <= 2:
        return web.Response(status=404, text="no such endpoint")
    part = wire.parse_part(rest[0])
    action = rest[1] if len(rest) == 2 else ""
    method = req.method
    if kind == "ro":
        handler = {
            ("GET", ""): _object_hashes,
            ("POST", "list"): _object_list,
            ("POST", "push"): _object_push,
            ("PUT", "body"): _object_body,
        }.get((method, action))
        if handler is None:
            return web.Response(status=405, text="method not allowed")
        return await handler(state, req, dev, part)
    db_kind = "c" if kind == "rc" else "a"
    if (method, action) == ("GET", ""):
        return await _db_digests(state, req, dev, part, db_kind)
    if (method, action) == ("POST", "push"):
        return await _db_push(state, req, dev, part, db_kind)
    return web.Response(status=405, text="method not allowed")


async def handle_parts(state: NodeState, req: web.Request, dev: Device) -> web.Response:
    """Partitions this device holds, per ring (for status and probe tests)."""
    dev.check_readable()
    with dev.read() as txn:
        out = {
            "object": list(hashes.partitions(txn)),
            "container": list(hashes.partitions(txn, dbsync.KINDS["c"][0])),
            "account": list(hashes.partitions(txn, dbsync.KINDS["a"][0])),
        }
    return web.json_response(out)


__all__ = ["AccountInfoRecord", "handle_parts", "incoming_record", "route"]
