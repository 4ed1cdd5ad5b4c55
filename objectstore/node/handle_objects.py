"""Object endpoints: PUT, GET, HEAD, DELETE, POST of one object version.

A PUT is acknowledged only after (1) the body is durable (inline in the
same commit as the index entry, or an fsynced and renamed file before it),
(2) the index entry is committed by the device's group commit, together
with the queued container update, and (3) that update was delivered to the
container replica, or left durably queued for the updater.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.common import footer, wire
from objectstore.common.values import ContainerRowUpdate
from objectstore.node import objects, requests
from objectstore.node.bodies import BodySink
from objectstore.node.device import Device
from objectstore.node.errors import Missing, StaleWrite
from objectstore.node.records import FILE, INLINE, ObjectRecord, PendingRecord

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

log = logging.getLogger(__name__)
CHUNK = 262144
#: Whole file bodies up to this size are read and checked before any byte is sent.
VERIFY_BEFORE_SENDING = 1024 * 1024
#: File bodies are written in batches of at least this many bytes per thread hand-off.
WRITE_BATCH = 1024 * 1024
#: Streamed file bodies are read, hashed and sent in pieces of this size.
READ_PIECE = 1024 * 1024
#: Body writes and reads: a pool of its own, so a done-callback can wait for a write to end.
_BODY_IO = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="body-io")


class ClientGone(Exception):
    """The client went away before sending the whole body (nothing stored)."""


async def receive_body(
    req: web.Request, dev: Device, length: int | None, splitter: footer.Splitter | None = None
) -> BodySink:
    """Read a PUT body into a sink; file bodies go to a thread in batches of ``WRITE_BATCH``.

    One batch is written (and hashed) in a thread while the loop reads the
    next. On failure the sink is aborted only once that thread is done with
    its file descriptor. With a ``splitter`` the body ends with a footer,
    which is kept out of the sink (the splitter holds its metadata).
    """
    sink = dev.new_sink()
    if length is not None and length > dev.config.inline_threshold:
        sink.spill()
    batch: list[bytes] = []
    batched = 0
    received = 0
    writing: concurrent.futures.Future[None] | None = None
    try:
        async for chunk in _arriving(req, splitter):
            received += len(chunk)
            if length is not None and received > length:
                raise wire.InvalidName("body longer than Content-Length")
            if not sink.spilled:
                sink.write(chunk)  # ENOSPC and friends surface as 507 in dispatch
                continue
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BATCH:
                writing = await _write_next(sink, writing, batch)
                batch, batched = [], 0
        if batch:
            writing = await _write_next(sink, writing, batch)
        if writing is not None:
            await asyncio.wrap_future(writing)
    except BaseException:
        if writing is not None and not writing.done():
            writing.add_done_callback(lambda _f: sink.abort())  # after the thread let go
        else:
            sink.abort()
        raise
    if length is not None and sink.size != length:
        sink.abort()
        raise ClientGone(f"body ended after {sink.size} of {length} bytes")
    return sink


async def _arriving(req: web.Request, splitter: footer.Splitter | None) -> AsyncIterator[bytes]:
    """The object's bytes as they arrive (without the footer, when there is one)."""
    while True:
        try:
            chunk = await req.content.readany()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection broke mid-body
            raise ClientGone(repr(exc)) from exc
        if not chunk:
            break
        if splitter is None:
            yield chunk
        else:
            for piece in splitter.feed(chunk):
                yield piece
    if splitter is not None and (last := splitter.finish()):
        yield last  # the object's last bytes, before its footer


async def _write_next(
    sink: BodySink, writing: concurrent.futures.Future[None] | None, batch: list[bytes]
) -> concurrent.futures.Future[None]:
    """Start writing ``batch`` once the previous batch is written (one at a time, in order)."""
    if writing is not None:
        await asyncio.wrap_future(writing)
    return _BODY_IO.submit(sink.write_many, batch)


async def handle_put_object(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str, o: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    meta = requests.metadata(req.headers)
    delete_at = requests.delete_at(req.headers)
    update = requests.update_target(req.headers, "Container")
    ctype = req.headers.get("Content-Type") or "application/octet-stream"
    expected = req.headers.get(wire.EXPECTED_ETAG)
    splitter = footer.Splitter() if req.headers.get(footer.HEADER) == "1" else None
    length = req.content_length if splitter is None else footer.object_length(req.headers)
    if length is not None and length > requests.MAX_OBJECT_SIZE:
        return web.Response(status=413, text="object too large")
    dev.check_writable(length or 0)
    key = dev.object_key(part, a, c, o)
    sink = await receive_body(req, dev, length, splitter)
    if splitter is not None:  # the footer's entries are stored in the same commit
        try:
            meta = wire.check_metadata({**meta, **splitter.metadata})
        except wire.InvalidName:
            sink.abort()
            raise
    etag = sink.etag
    if expected is not None and expected.strip('"').lower() != etag:
        sink.abort()
        return web.Response(status=422, text="ETag mismatch")
    inline = sink.inline
    rel = ""
    if inline is None:
        try:
            rel = await dev.commit_body(sink, part, key, ts.normal)
        except BaseException:
            sink.abort()
            raise
    record = ObjectRecord(
        f"{a}/{c}/{o}",
        ts.ticks,
        sink.size,
        etag,
        ctype,
        meta,
        delete_at,
        INLINE if inline is not None else FILE,
        rel,
    )
    pending = row = None
    if update is not None:
        target, cpart = update
        row = ContainerRowUpdate(cpart, a, c, o, ts, sink.size, etag, ctype, False)
        pkey = objects.pending_key(key, ts.ticks)
        pending = (pkey, PendingRecord([target.ip, target.port, target.device], row.pack()))
    try:
        await dev.submit(objects.put_op(dev.root, key, record, inline, pending))
    except StaleWrite:
        if rel:
            _unlink_quietly(dev.body_path(rel))
        raise
    if pending is not None and row is not None and update is not None:
        await state.updater.deliver(dev, pending[0], update[0], row)
    headers = {wire.BACKEND_TIMESTAMP: ts.normal, "ETag": etag, "X-Backend-Size": str(sink.size)}
    return web.Response(status=201, headers=headers)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


async def handle_head_object(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str, o: str
) -> web.StreamResponse:
    dev.check_readable()
    key = dev.object_key(part, a, c, o)
    with dev.read() as txn:
        found = objects.read_object(txn, key, with_body=False)
    return web.Response(status=200, headers=requests.object_headers(found.record))


async def handle_get_object(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str, o: str
) -> web.StreamResponse:
    dev.check_readable()
    key = dev.object_key(part, a, c, o)
    lost = None
    while True:
        with dev.read() as txn:
            found = objects.read_object(txn, key, with_body=True)
        rec = found.record
        fd = None
        if rec.kind == FILE:
            try:
                fd = os.open(dev.body_path(rec.path), os.O_RDONLY)
            except FileNotFoundError:
                if lost == rec.path:  # still the same entry: its body is gone
                    await _corrupt(state, dev, key, rec)
                lost = rec.path  # or a newer version replaced it just now: look again
                continue
        break
    headers = requests.object_headers(rec)
    try:
        span = requests.byte_range(req.headers.get("Range"), rec.size)
    except requests.BadRange:
        if fd is not None:
            os.close(fd)
        headers["Content-Range"] = f"bytes */{rec.size}"
        return web.Response(status=416, headers=headers)
    status = 200
    first, last = 0, rec.size - 1
    if span is not None:
        status = 206
        first, last = span
        headers["Content-Range"] = f"bytes {first}-{last}/{rec.size}"
    if fd is None:
        body = found.body or b""
        if hashlib.md5(body, usedforsecurity=False).hexdigest() != rec.etag:
            await _corrupt(state, dev, key, rec)
        if span is not None:
            body = body[first : last + 1]
        return web.Response(status=status, body=body, headers=headers)
    if span is not None:  # a part of a body cannot be checked: Swift does not either
        return await _stream_file(req, fd, first, last - first + 1, status, headers)
    if rec.size <= VERIFY_BEFORE_SENDING:
        data = await asyncio.get_running_loop().run_in_executor(None, _read_all, fd, rec.size)
        await _verify(state, dev, key, rec, hashlib.md5(data, usedforsecurity=False).hexdigest())
        return web.Response(status=status, body=data, headers=headers)
    return await _stream_file(req, fd, 0, rec.size, status, headers, (state, dev, key, rec))


def _read_piece(fd: int, size: int, offset: int, md5: Any) -> bytes:
    """One pread, hashed in the same thread hand-off (both release the GIL)."""
    chunk = os.pread(fd, size, offset)
    if md5 is not None:
        md5.update(chunk)
    return chunk


class BodyCorrupt(Exception):
    """A streamed body did not match its ETag: the connection was cut before its end."""


async def _corrupt(state: NodeState, dev: Device, key: bytes, rec: ObjectRecord) -> None:
    """Quarantine this replica and answer 404: the proxy reads another one."""
    await state.quarantine(dev, key, rec, "get")
    raise Missing()


async def _verify(state: NodeState, dev: Device, key: bytes, rec: ObjectRecord, md5: str) -> None:
    if state.verify_hook is not None:
        state.verify_hook(dev, key, rec, md5)
    if md5 != rec.etag:
        await _corrupt(state, dev, key, rec)


def _read_all(fd: int, size: int) -> bytes:
    try:
        parts = []
        offset = 0
        while offset < size:
            chunk = os.pread(fd, min(CHUNK * 4, size - offset), offset)
            if not chunk:
                break  # short: the MD5 check fails and the replica is quarantined
            parts.append(chunk)
            offset += len(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


async def _stream_file(
    req: web.Request,
    fd: int,
    offset: int,
    count: int,
    status: int,
    headers: dict[str, str],
    check: tuple[NodeState, Device, bytes, ObjectRecord] | None = None,
) -> web.StreamResponse:
    """Send ``count`` bytes of the body file.

    With ``check`` (a whole body), the MD5 is computed on the way and the
    last chunk is held back until it is known: on a mismatch the replica is
    quarantined and the connection is cut, so the client sees a short,
    failed response and never a corrupt body that looks complete.
    """
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = count
    md5 = hashlib.md5(usedforsecurity=False) if check is not None else None
    held: bytes | None = None
    reading: concurrent.futures.Future[bytes] | None = None
    try:
        await resp.prepare(req)
        if count > 0:
            reading = _BODY_IO.submit(_read_piece, fd, min(READ_PIECE, count), offset, md5)
        while reading is not None:
            chunk = await asyncio.wrap_future(reading)
            reading = None
            if not chunk:
                if md5 is None:
                    raise OSError(f"body file shorter than its index entry ({count} missing)")
                break  # the MD5 check below fails
            offset += len(chunk)
            count -= len(chunk)
            if count > 0:  # read (and hash) the next piece while this one is sent
                reading = _BODY_IO.submit(_read_piece, fd, min(READ_PIECE, count), offset, md5)
            if held is not None:
                await resp.write(held)
            held = chunk
    finally:
        if reading is not None and not reading.done():
            reading.add_done_callback(lambda _f: os.close(fd))  # after the thread let go
        else:
            os.close(fd)
    if check is not None and md5 is not None:
        state, dev, key, rec = check
        try:
            await _verify(state, dev, key, rec, md5.hexdigest())
        except Missing:
            if req.transport is not None:
                req.transport.abort()
            raise BodyCorrupt(f"{rec.name}: MD5 mismatch, replica quarantined") from None
    if held is not None:
        await resp.write(held)
    await resp.write_eof()
    return resp


async def handle_delete_object(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str, o: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    update = requests.update_target(req.headers, "Container")
    dev.check_writable()
    key = dev.object_key(part, a, c, o)
    pending = row = None
    if update is not None:
        target, cpart = update
        row = ContainerRowUpdate(cpart, a, c, o, ts, 0, "", "", True)
        pending = (
            objects.pending_key(key, ts.ticks),
            PendingRecord([target.ip, target.port, target.device], row.pack()),
        )
    existed = await dev.submit(objects.delete_op(dev.root, key, f"{a}/{c}/{o}", ts.ticks, pending))
    if pending is not None and row is not None and update is not None:
        await state.updater.deliver(dev, pending[0], update[0], row)
    return web.Response(status=204 if existed else 404, headers={wire.BACKEND_TIMESTAMP: ts.normal})


async def handle_post_object(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str, o: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    meta = requests.metadata(req.headers)
    delete_at = requests.delete_at(req.headers)
    ctype = req.headers.get(wire.POST_CONTENT_TYPE) or None
    dev.check_writable()
    key = dev.object_key(part, a, c, o)
    await dev.submit(objects.post_op(key, ts.ticks, meta, ctype, delete_at))
    return web.Response(status=202, headers={wire.BACKEND_TIMESTAMP: ts.normal})
