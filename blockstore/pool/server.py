"""A volume backend process (`stratus volume backend`): one storage directory and one
iSCSI target, driven by the volume API over a small internal HTTP API.

As Cinder's c-vol behind c-api: the API keeps every record and decides; this process
holds the bytes (a :class:`FileBackend` under ``volume.dir``) and the exports (the
built-in target on ``iscsi.host:iscsi.port``) and does what it is told. Every request
carries the shared secret (``X-Backend-Token``, compared in constant time). Names are the
API's ids, checked by the file backend; a clone's source must be a file of this backend.
A copy of a volume that is exported holds the LUN's writes while it is taken. Backups and
restores read and write volumes by range (``ranges.py``); whole volume files (a migration,
a volume built from an image on the API host) travel as data-extent frames (``wire.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from blockstore.backend import FileBackend
from blockstore.export.base import Acl, ExportError, ExportSpec
from blockstore.export.userspace import UserspaceDriver
from blockstore.iscsi import TargetServer
from blockstore.pool import ranges, wire
from blockstore.pool.wire import CHUNK, FRAME, TOKEN_HEADER
from stratus.config import Config
from stratus.http import server as httpserver

log = logging.getLogger("blockstore.pool.server")
GiB = 1024**3


class Backend:
    """What one backend process holds: files, target driver, its name and identity."""

    def __init__(self, cfg: Config, name: str, files: FileBackend, driver: UserspaceDriver):
        self.name = name
        self.host = socket.gethostname()
        self.files = files
        self.driver = driver
        self.iqn_prefix = cfg.iscsi.iqn_prefix
        self.secret = cfg.volume.backend_secret.encode()
        self.boot_id = uuid.uuid4().hex  # tells the API this process restarted

    def iqn(self, volume_id: str) -> str:
        return f"{self.iqn_prefix}:volume-{volume_id.lower()}"

    def source(self, path: str) -> tuple[Path, str | None]:
        """A clone's source: a volume or snapshot file of this backend (and the volume's
        export to quiesce), never any other path."""
        p = Path(path)
        name = p.name.removesuffix(".img")
        if p == self.files.volume_path(name):
            return p, self.iqn(name)
        if p == self.files.snapshot_path(name):
            return p, None
        raise web.HTTPBadRequest(text="clone source is not a file of this backend")

    @contextlib.asynccontextmanager
    async def quiesced(self, iqn: str | None) -> AsyncIterator[None]:
        if iqn is None:
            yield
            return
        async with self.driver.quiesce(iqn):
            yield


BACKEND = web.AppKey("backend", Backend)
Handler = Callable[[web.Request, Backend], Awaitable[web.StreamResponse]]


def _route(fn: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        b = request.app[BACKEND]
        given = request.headers.get(TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(given, b.secret):
            raise web.HTTPUnauthorized(text="backend token required")
        try:
            return await fn(request, b)
        except (ValueError, ExportError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        except FileNotFoundError:
            raise web.HTTPNotFound(text="no such file") from None

    return handle


async def _json(request: web.Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body  # checked per key by the handlers


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise web.HTTPBadRequest(text=f"{key} must be a non-negative integer")
    return value


def _io(fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    return asyncio.to_thread(fn, *args)


async def stats(request: web.Request, b: Backend) -> web.Response:
    s = await _io(b.files.stats)
    return web.json_response(
        {
            "name": b.name,
            "host": b.host,
            "boot_id": b.boot_id,
            "root": str(b.files.root),
            "portals": list(b.driver.portals),
            **asdict(s),
        }
    )


async def _sized(request: web.Request, fn: Callable[[str, int, bool], None]) -> web.Response:
    """Create or extend: ``fn(volume id, size, thick)``."""
    body = await _json(request)
    await _io(fn, request.match_info["id"], _int(body, "size"), bool(body.get("thick")))
    return web.json_response({})


async def create(request: web.Request, b: Backend) -> web.Response:
    return await _sized(request, b.files.create_volume)


async def clone(request: web.Request, b: Backend) -> web.Response:
    body = await _json(request)
    path, iqn = b.source(str(body.get("source", "")))
    size, thick = _int(body, "size"), bool(body.get("thick"))
    async with b.quiesced(iqn):
        method = await _io(
            lambda: b.files.clone_volume(path, request.match_info["id"], size, thick=thick)
        )
    return web.json_response({"method": method})


async def snapshot(request: web.Request, b: Backend) -> web.Response:
    body = await _json(request)
    vid = str(body.get("volume_id", ""))
    async with b.quiesced(b.iqn(vid)):
        method = await _io(b.files.snapshot_volume, vid, request.match_info["id"])
    return web.json_response({"method": method})


async def extend(request: web.Request, b: Backend) -> web.Response:
    return await _sized(request, b.files.extend_volume)


async def volume_facts(request: web.Request, b: Backend) -> web.Response:
    size = await _io(b.files.volume_size, request.match_info["id"])
    if size is None:
        raise web.HTTPNotFound(text="no such volume")
    return web.json_response({"size": size})


async def snapshot_facts(request: web.Request, b: Backend) -> web.Response:
    if not await _io(b.files.snapshot_exists, request.match_info["id"]):
        raise web.HTTPNotFound(text="no such snapshot")
    return web.json_response({})


async def delete(request: web.Request, b: Backend) -> web.Response:
    kind, ident = request.match_info["kind"], request.match_info["id"]
    partial = request.query.get("partial") == "1"
    fn = {
        ("volumes", False): b.files.delete_volume,
        ("volumes", True): b.files.discard_partial_volume,
        ("snapshots", False): b.files.delete_snapshot,
        ("snapshots", True): b.files.discard_partial_snapshot,
    }[kind, partial]
    await _io(fn, ident)
    return web.json_response({})


async def clean_tmp(request: web.Request, b: Backend) -> web.Response:
    await _io(b.files.clean_tmp)
    return web.json_response({})


# -- whole volume files: a migration's copy -------------------------------------------------


async def checksum(request: web.Request, b: Backend) -> web.Response:
    path = b.files.volume_path(request.match_info["id"])
    return web.json_response({"sha256": await _io(wire.sha256_file, path)})


async def content_digest(request: web.Request, b: Backend) -> web.Response:
    path = b.files.volume_path(request.match_info["id"])
    return web.json_response({"sha256": await _io(wire.content_digest, path)})


async def read_data(request: web.Request, b: Backend) -> web.StreamResponse:
    """A volume's file as a stream of data-extent frames; ``X-Volume-Size`` its size."""
    path = b.files.volume_path(request.match_info["id"])
    size = (await _io(path.stat)).st_size
    resp = web.StreamResponse(headers={"X-Volume-Size": str(size)})
    resp.content_type = "application/octet-stream"
    frames = wire.frames(path)
    await resp.prepare(request)
    while frame := await _io(next, frames, b""):
        await resp.write(frame)
    await resp.write_eof()
    return resp


async def _write_frames(request: web.Request, fd: int, size: int) -> str:
    """Write the frames of the body at their offsets; the SHA-256 of the stream."""
    h = hashlib.sha256()
    while True:
        try:
            head = await request.content.readexactly(FRAME.size)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise web.HTTPBadRequest(text="truncated frame") from None
            return h.hexdigest()
        offset, length = FRAME.unpack(head)
        if length > CHUNK or offset + length > size:
            raise web.HTTPBadRequest(text="frame outside the volume")
        data = await request.content.readexactly(length)
        h.update(head)
        h.update(data)
        await _io(os.pwrite, fd, data, offset)


async def write_data(request: web.Request, b: Backend) -> web.Response:
    """A volume's whole file from data-extent frames, built under tmp/ and renamed into place
    once complete and synced: answers the SHA-256 of the stream and of the file on disk."""
    vid = request.match_info["id"]
    thick = request.query.get("thick") == "1"
    try:
        size = int(request.query["size"])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(text="size required") from None
    fd, tmp = await _io(b.files.open_partial_volume, vid)
    try:
        stream = await _write_frames(request, fd, size)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    await _io(b.files.commit_partial_volume, vid, fd, size, thick)
    digest = await _io(wire.sha256_file, b.files.volume_path(vid))
    return web.json_response({"size": size, "sha256": digest, "stream_sha256": stream})


# -- exports ------------------------------------------------------------------------------


def _spec(body: dict[str, Any]) -> ExportSpec:
    acls = tuple(
        Acl(str(a["initiator_iqn"]), a.get("chap_user"), a.get("chap_secret"))
        for a in body.get("acls", [])
    )
    qos = tuple((str(k), int(v)) for k, v in body.get("qos", []))
    return ExportSpec(
        volume_id=str(body["volume_id"]),
        path=str(body["path"]),
        target_iqn=str(body["target_iqn"]),
        lun=int(body.get("lun", 0)),
        read_only=bool(body.get("read_only")),
        acls=acls,
        qos=qos,
        write_cache=bool(body.get("write_cache", True)),
    )


async def ensure_export(request: web.Request, b: Backend) -> web.Response:
    spec = _spec(await _json(request))
    if spec.path != str(b.files.volume_path(spec.volume_id)):
        raise web.HTTPBadRequest(text="export path is not this backend's volume file")
    info = await b.driver.ensure_export(spec)
    return web.json_response({"portals": list(info.target_portals or (info.target_portal,))})


async def remove_export(request: web.Request, b: Backend) -> web.Response:
    await b.driver.remove_export(request.match_info["iqn"])
    return web.json_response({})


async def extend_export(request: web.Request, b: Backend) -> web.Response:
    await b.driver.extend_export(request.match_info["iqn"])
    return web.json_response({})


async def list_exports(request: web.Request, b: Backend) -> web.Response:
    return web.json_response({"exports": await b.driver.list_exports()})


async def sessions(request: web.Request, b: Backend) -> web.Response:
    return web.json_response({"sessions": [asdict(s) for s in await b.driver.sessions()]})


def make_app(backend: Backend) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[BACKEND] = backend
    r = app.router
    r.add_get("/stats", _route(stats))
    r.add_post("/clean_tmp", _route(clean_tmp))
    r.add_put("/volumes/{id}", _route(create))
    r.add_get("/volumes/{id}", _route(volume_facts))
    r.add_post("/volumes/{id}/clone", _route(clone))
    r.add_post("/volumes/{id}/extend", _route(extend))
    r.add_get("/volumes/{id}/checksum", _route(checksum))
    r.add_get("/volumes/{id}/content_digest", _route(content_digest))
    r.add_get("/volumes/{id}/data", _route(read_data))
    r.add_put("/volumes/{id}/data", _route(write_data))
    r.add_get("/{kind:volumes|snapshots}/{id}/map", _route(ranges.data_map))
    r.add_get("/{kind:volumes|snapshots}/{id}/range", _route(ranges.read_range))
    r.add_put("/volumes/{id}/range", _route(ranges.write_range))
    r.add_post("/volumes/{id}/zero", _route(ranges.zero_range))
    r.add_post("/volumes/{id}/flush", _route(ranges.flush))
    r.add_put("/snapshots/{id}", _route(snapshot))
    r.add_get("/snapshots/{id}", _route(snapshot_facts))
    r.add_delete("/{kind:volumes|snapshots}/{id}", _route(delete))
    r.add_get("/exports", _route(list_exports))
    r.add_put("/exports", _route(ensure_export))
    r.add_delete("/exports/{iqn}", _route(remove_export))
    r.add_post("/exports/{iqn}/extend", _route(extend_export))
    r.add_get("/sessions", _route(sessions))
    return app


async def serve(cfg: Config, name: str, stop: asyncio.Event) -> None:
    """Run one backend process until ``stop`` is set."""
    if len(cfg.volume.backend_secret) < 16:
        raise OSError("volume.backend_secret (16+ characters) is required")
    root = Path(cfg.volume.dir) if cfg.volume.dir else Path(cfg.data.dir) / "volumes"
    sock = httpserver.listen(cfg.volume.host, cfg.volume.backend_port)
    files = FileBackend(root / "files", capacity_bytes=cfg.volume.capacity_gb * GiB)
    target = TargetServer(cfg.iscsi.host, cfg.iscsi.port, discovery_auth=cfg.iscsi.discovery_auth)
    await target.start()
    driver = UserspaceDriver(target)
    await _io(files.clean_tmp)
    backend = Backend(cfg, name, files, driver)
    limits = httpserver.ServerLimits.from_config(cfg)
    runner = await httpserver.start(make_app(backend), sock, limits, access_log=None)
    log.info(
        "volume backend %s on %s:%d, iSCSI target on %s",
        name,
        cfg.volume.host,
        sock.getsockname()[1],
        ", ".join(driver.portals),
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await driver.close()
        await target.stop()
        sock.close()
