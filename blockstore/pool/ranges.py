"""A backend process's volumes by range: what backups read and restores write.

The volume API's backup engine reads a volume (or a backup's temporary snapshot) and
writes a restored one through these handlers, one chunk per request, as it would the
file in its own process; each handler runs that same in-process reader or writer
(``blockstore.backend.volumeio``) on this backend's file:

- ``GET /{volumes|snapshots}/{id}/map?size=&chunk_size=``: a bitmap of the chunks of
  the first ``size`` bytes that hold data (holes are never read);
- ``GET /{volumes|snapshots}/{id}/range?offset=&length=``: exactly ``length`` bytes
  (zeros past the end), their xxh3-128 in ``X-Range-Digest``;
- ``PUT /volumes/{id}/range?offset=``: bytes written in place once their
  ``X-Range-Digest`` matches, never past the file's end;
- ``POST /volumes/{id}/zero?offset=&length=`` (a hole where it can) and
  ``POST /volumes/{id}/flush``.

Every range is at most ``MAX_RANGE`` bytes and a map at most ``MAX_MAP_CHUNKS`` bits;
the body of a write is read only once its declared length passes those checks.
"""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from blockstore.backend.volumeio import FileReader, FileWriter, range_digest
from blockstore.pool import wire

if TYPE_CHECKING:
    from blockstore.pool.server import Backend


def _query_int(request: web.Request, key: str, low: int = 0, high: int = 1 << 62) -> int:
    try:
        value = int(request.query[key])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(text=f"{key} must be an integer") from None
    if not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{key} must be between {low} and {high}")
    return value


def _path(request: web.Request, b: Backend) -> Path:
    ident = request.match_info["id"]
    if request.match_info.get("kind", "volumes") == "snapshots":
        return b.files.snapshot_path(ident)
    return b.files.volume_path(ident)


def _data_map(path: Path, size: int, chunk_size: int) -> bytes:
    reader = FileReader(path)
    try:
        found = reader.data_chunks(size, chunk_size)
    finally:
        reader.close()
    return wire.bitmap(found, -(-size // chunk_size))


async def data_map(request: web.Request, b: Backend) -> web.Response:
    chunk_size = _query_int(request, "chunk_size", 4096, wire.MAX_RANGE)
    size = _query_int(request, "size", 0, chunk_size * wire.MAX_MAP_CHUNKS)
    bits = await asyncio.to_thread(_data_map, _path(request, b), size, chunk_size)
    return web.Response(body=bits, content_type="application/octet-stream")


def _read(path: Path, offset: int, length: int) -> bytes:
    reader = FileReader(path)
    try:
        return reader.read(offset, length)
    finally:
        reader.close()


async def read_range(request: web.Request, b: Backend) -> web.Response:
    offset = _query_int(request, "offset")
    length = _query_int(request, "length", 0, wire.MAX_RANGE)
    data = await asyncio.to_thread(_read, _path(request, b), offset, length)
    digest = await asyncio.to_thread(range_digest, data)
    headers = {wire.DIGEST_HEADER: digest.hex()}
    return web.Response(body=data, content_type="application/octet-stream", headers=headers)


def _writer(path: Path, offset: int = 0, length: int = 0) -> FileWriter:
    """The volume file, open for writing, once ``[offset, offset + length)`` is inside it."""
    writer = FileWriter(path)
    if offset + length > writer.backing.size():
        writer.close()
        raise ValueError("range outside the volume")
    return writer


def _write(path: Path, offset: int, data: bytes, digest: bytes) -> None:
    writer = _writer(path, offset, len(data))
    try:
        writer.write(offset, data, digest)
    finally:
        writer.close()


async def write_range(request: web.Request, b: Backend) -> web.Response:
    offset = _query_int(request, "offset")
    length = request.content_length
    if length is None or not 0 <= length <= wire.MAX_RANGE:
        raise web.HTTPBadRequest(text=f"a range needs a Content-Length up to {wire.MAX_RANGE}")
    try:
        digest = bytes.fromhex(request.headers.get(wire.DIGEST_HEADER, ""))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{wire.DIGEST_HEADER} must be hex") from None
    try:
        data = await request.content.readexactly(length)
    except asyncio.IncompleteReadError:
        raise web.HTTPBadRequest(text="truncated range") from None
    if not hmac.compare_digest(await asyncio.to_thread(range_digest, data), digest):
        raise web.HTTPBadRequest(text="range digest does not match its bytes")
    await asyncio.to_thread(_write, _path(request, b), offset, data, digest)
    return web.json_response({})


def _zero(path: Path, offset: int, length: int) -> None:
    writer = _writer(path, offset, length)
    try:
        writer.zero(offset, length)
    finally:
        writer.close()


async def zero_range(request: web.Request, b: Backend) -> web.Response:
    offset = _query_int(request, "offset")
    length = _query_int(request, "length", 0, 1 << 50)
    await asyncio.to_thread(_zero, _path(request, b), offset, length)
    return web.json_response({})


def _flush(path: Path) -> None:
    writer = _writer(path)
    try:
        writer.flush()
    finally:
        writer.close()


async def flush(request: web.Request, b: Backend) -> web.Response:
    await asyncio.to_thread(_flush, _path(request, b))
    return web.json_response({})
