"""Swift's ``bulk``: many deletes in one request (``?bulk-delete``), and tar uploads
unpacked into objects (``?extract-archive=tar|tar.gz|tar.bz2``).

Both answer ``200 OK`` at once and report in the body (plain text, JSON or
XML by the Accept header, as Swift renders them: ``heartbeat``), padding it
with whitespace while they work. Every deletion and every upload is a
subrequest through the rest of the pipeline as the caller (``subrequest``),
so it meets the same authorization, quotas and later filters as a request
of the caller's own, and fails the same way, item by item.

Bulk delete: a POST or DELETE whose ``text/plain`` body lists URL-encoded
``/container/object`` or ``/container`` paths, one a line (at most
``max_deletes_per_request``); objects go first, then containers (409 while
one still holds objects); it stops after ``max_failed_deletes`` failures.

Extract archive: a PUT of a tar, read as it arrives (``tarstream``), to an
account (each top directory is a container, made when missing, at most
``max_containers_per_extraction``; files at the top are skipped), a
container or a pseudo-directory. Only regular files become objects, with
the request's X-Object-Meta-* and X-Delete-* headers and the members' pax
``user.mime_type`` / ``user.meta.*`` attributes; it stops after
``max_failed_extractions`` failures.

The limits are Swift's defaults, published in /info as Swift publishes them.
"""

from __future__ import annotations

import asyncio
import logging
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_to_bytes

from aiohttp import web

from objectstore.proxy.swift import pipeline, subrequest
from objectstore.proxy.swift.constraints import (
    MAX_CONTAINER_NAME_LENGTH,
    MAX_OBJECT_NAME_LENGTH,
    is_utf8,
)
from objectstore.proxy.swift.errors import HTML, SwiftError, reason
from objectstore.proxy.swift.heartbeat import Heartbeat, out_type, render
from objectstore.proxy.swift.tarstream import Archive, BodyReader, Compression

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

log = logging.getLogger(__name__)

ARCHIVES: dict[str, Compression] = {"tar": "", "tar.gz": "gz", "tar.bz2": "bz2"}
MAX_PATH = MAX_OBJECT_NAME_LENGTH + MAX_CONTAINER_NAME_LENGTH + 2  # Swift's max_path_length


@dataclass(frozen=True)
class Limits:
    """Swift's bulk settings, at Swift's defaults."""

    max_containers_per_extraction: int = 10000
    max_failed_extractions: int = 1000
    max_deletes_per_request: int = 10000
    max_failed_deletes: int = 1000
    yield_frequency: float = 10.0  # seconds between whitespace heartbeats
    delete_concurrency: int = 2


LIMITS = Limits()


class Stop(Exception):
    """Ends a bulk operation: its status and message go in the result document."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def status_line(status: int) -> str:
    return f"{status} {reason(status)}"


async def handle(ctx: Ctx, next: pipeline.Next) -> web.StreamResponse:
    extract = ctx.params.get("extract-archive")
    if extract is not None and ctx.method == "PUT":
        compression = ARCHIVES.get(extract.lower().strip("."))
        if compression is None:
            raise SwiftError(400, "Unsupported archive format", content_type=HTML)
        media = out_type(ctx.headers.get("Accept"))
        beat = await Heartbeat.start(ctx.request, media, LIMITS.yield_frequency)
        return await beat.finish(await _extract(ctx, next, compression, media, beat))
    if "bulk-delete" in ctx.params and ctx.method in ("POST", "DELETE"):
        media = out_type(ctx.headers.get("Accept"))
        beat = await Heartbeat.start(ctx.request, media, LIMITS.yield_frequency)
        return await beat.finish(await _delete(ctx, next, media, beat))
    return await next(ctx)


def _has_body(ctx: Ctx) -> None:
    chunked = ctx.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if ctx.content_length is None and not chunked:
        raise Stop(411)


def _quoted(name: str, limit: int | None = None) -> str:
    """A name as an error list shows it: URL-quoted (of its first ``limit`` bytes)."""
    raw = name.encode("utf-8", "surrogateescape")
    return quote(raw[:limit] if limit is not None else raw)


def _valid(path: str) -> bool:
    """Swift's check_utf8: valid UTF-8 and no NUL."""
    return is_utf8(path) and "\x00" not in path


# -- bulk delete ----------------------------------------------------------------------


async def _names(ctx: Ctx) -> list[str]:
    """The body's names, read as Swift's get_objs_to_delete reads them."""
    _has_body(ctx)
    body = BodyReader(ctx.body_chunks())
    names: list[str] = []
    line = b""
    remaining = True
    while remaining:
        if b"\n" in line:
            item, line = line.split(b"\n", 1)
            names.append(_unquote(item))
        else:
            data = await body.read(MAX_PATH)
            if data:
                line += data
            else:
                remaining = False
                last = _unquote(line)
                if last:
                    names.append(last)
        if len(names) > LIMITS.max_deletes_per_request:
            raise Stop(413, f"Maximum Bulk Deletes: {LIMITS.max_deletes_per_request} per request")
        if len(line) > MAX_PATH * 2:
            raise Stop(400, "Invalid File Name")
    return names


def _unquote(raw: bytes) -> str:
    return unquote_to_bytes(raw.strip()).decode("utf-8", "surrogateescape")


async def _delete(ctx: Ctx, next: pipeline.Next, media: str | None, beat: Heartbeat) -> bytes:
    result: dict[str, Any] = {
        "Response Status": status_line(200),
        "Response Body": "",
        "Number Deleted": 0,
        "Number Not Found": 0,
    }
    failed: list[tuple[str, str]] = []
    try:
        if media is None:
            raise Stop(406)
        incoming = ctx.headers.get("Content-Type")
        if incoming and not incoming.startswith("text/plain"):
            raise Stop(406)
        names = await _names(ctx)
        gateway = await _delete_all(ctx, next, names, result, failed, beat)
        if failed:
            result["Response Status"] = status_line(502 if gateway else 400)
        elif not (result["Number Deleted"] or result["Number Not Found"]):
            result["Response Status"] = status_line(400)
            result["Response Body"] = "Invalid bulk delete."
    except Stop as stop:
        result["Response Status"] = status_line(stop.status)
        result["Response Body"] = stop.body
    except Exception:
        log.exception("Error in bulk delete.")
        result["Response Status"] = status_line(500)
    return render(media, result, failed, "delete")


async def _delete_all(
    ctx: Ctx,
    next: pipeline.Next,
    names: list[str],
    result: dict[str, Any],
    failed: list[tuple[str, str]],
    beat: Heartbeat,
) -> bool:
    """Objects first, then containers, ``delete_concurrency`` at a time; True when a
    node failed (the status is then 502)."""
    gateway = False

    def paths(objects: bool) -> Iterable[tuple[str, str]]:
        for name in names:
            if not name or ("/" in name.strip("/")) != objects:
                continue
            path = f"/v1/{ctx.account}/{name.lstrip('/')}"
            if not _valid(path):
                failed.append((_quoted(name), status_line(412)))
                continue
            yield name, path

    async def one(name: str, path: str) -> tuple[str, int]:
        return name, await subrequest.status(ctx, next, "DELETE", path)

    def record(name: str, status: int) -> None:
        nonlocal gateway
        if status // 100 == 2:
            result["Number Deleted"] += 1
        elif status == 404:
            result["Number Not Found"] += 1
        elif status == 401:
            failed.append((_quoted(name), status_line(401)))
        else:
            gateway = gateway or status // 100 == 5
            failed.append((_quoted(name), status_line(status)))

    for objects in (True, False):
        running: set[asyncio.Task[tuple[str, int]]] = set()
        todo = iter(paths(objects))
        try:
            while True:
                for name, path in todo:
                    running.add(asyncio.ensure_future(one(name, path)))
                    if len(running) >= LIMITS.delete_concurrency:
                        break
                if not running:
                    break
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    await beat.beat()
                    record(*task.result())
                if len(failed) >= LIMITS.max_failed_deletes:
                    for name, status in await asyncio.gather(*running):
                        await beat.beat()
                        record(name, status)
                    running = set()
                    raise Stop(400, "Max delete failures exceeded")
        finally:
            for task in running:
                task.cancel()
    return gateway


# -- extract archive ------------------------------------------------------------------


@dataclass
class _Extraction:
    """What one extract-archive has done so far."""

    created: int = 0
    containers_made: int = 0
    gateway: bool = False


async def _extract(
    ctx: Ctx, next: pipeline.Next, compression: Compression, media: str | None, beat: Heartbeat
) -> bytes:
    result: dict[str, Any] = {
        "Response Status": status_line(201),
        "Response Body": "",
        "Number Files Created": 0,
    }
    failed: list[tuple[str, str]] = []
    state = _Extraction()
    try:
        if media is None:
            raise Stop(406)
        _has_body(ctx)
        await _unpack(ctx, next, compression, state, failed, beat)
        if failed:
            result["Response Status"] = status_line(502 if state.gateway else 400)
        elif not state.created:
            result["Response Status"] = status_line(400)
            result["Response Body"] = "Invalid Tar File: No Valid Files"
    except Stop as stop:
        result["Response Status"] = status_line(stop.status)
        result["Response Body"] = stop.body
    except (tarfile.TarError, zlib.error) as exc:
        result["Response Status"] = status_line(400)
        result["Response Body"] = f"Invalid Tar File: {exc}"
    except Exception:
        log.exception("Error in extract archive.")
        result["Response Status"] = status_line(500)
    result["Number Files Created"] = state.created
    return render(media, result, failed, "extract")


def _base(ctx: Ctx) -> str:
    """Where the archive's paths go: "" (the account), a container, or a pseudo-directory."""
    if ctx.container is None:
        return ""
    base = ctx.container + ("/" + ctx.obj if ctx.obj is not None else "")
    return base.rstrip("/")


async def _unpack(
    ctx: Ctx,
    next: pipeline.Next,
    compression: Compression,
    state: _Extraction,
    failed: list[tuple[str, str]],
    beat: Heartbeat,
) -> None:
    base = _base(ctx)
    archive = Archive(ctx.body_chunks(), compression)
    await archive.open()
    seen: set[str] = set()
    while True:
        await beat.beat()
        member = await archive.next()
        if member is None or len(failed) >= LIMITS.max_failed_extractions:
            return
        if not member.isfile():
            continue
        path = member.name.removeprefix("./").lstrip("/")
        if base:
            path = base + "/" + path
        if "/" not in path:
            continue  # a file at the top of an account has no container
        destination = f"/v1/{ctx.account}/{path}"
        container = path.split("/", 1)[0]
        if not _valid(destination):
            failed.append((_quoted(path, MAX_PATH), status_line(412)))
            continue
        if member.size > ctx.core.max_object_size:
            failed.append((_quoted(path, MAX_PATH), status_line(413)))
            continue
        container_failure = None
        if container not in seen:
            container_failure = await _container(ctx, next, container, state)
        headers = _object_headers(ctx, member)
        status = await subrequest.status(
            ctx, next, "PUT", destination, headers, archive.data(member)
        )
        seen.add(container)
        if status // 100 == 2:
            state.created += 1
            continue
        if container_failure is not None:
            failed.append(container_failure)
        if status == 401:
            failed.append((_quoted(path, MAX_PATH), status_line(401)))
            raise Stop(401)
        state.gateway = state.gateway or status // 100 == 5
        failed.append((_quoted(path, MAX_PATH), status_line(status)))


async def _container(
    ctx: Ctx, next: pipeline.Next, container: str, state: _Extraction
) -> tuple[str, str] | None:
    """Make the container when it is missing (Swift's create_container): None when it
    exists or was made, else the failure to report should its first upload fail too."""
    path = f"/v1/{ctx.account}/{container}"
    status = await subrequest.status(ctx, next, "HEAD", path)
    if status // 100 == 2:
        return None
    if status == 404:
        status = await subrequest.status(ctx, next, "PUT", path)
        if status // 100 == 2:
            state.containers_made += 1
            if state.containers_made > LIMITS.max_containers_per_extraction:
                limit = LIMITS.max_containers_per_extraction
                raise Stop(400, f"More than {limit} containers to create from tar.")
            return None
    if status == 401:
        raise Stop(401)
    return (_quoted(path, MAX_PATH), status_line(status))


def _object_headers(ctx: Ctx, member: tarfile.TarInfo) -> dict[str, str]:
    """The request's expiry and user metadata, then the member's pax attributes."""
    headers = {"Content-Length": str(member.size)}
    for name, value in ctx.headers.items():
        low = name.lower()
        meta = low.startswith("x-object-meta-") and len(low) > len("x-object-meta-")
        if low in ("x-delete-at", "x-delete-after") or meta:
            headers[name] = value
    for key, value in member.pax_headers.items():
        header = _pax_header(key)
        if header is not None:
            headers[header] = value
    return headers


def _pax_header(key: str) -> str | None:
    """bulk.pax_key_to_swift_header: GNU (SCHILY) and BSD (LIBARCHIVE) xattrs."""
    for prefix in ("SCHILY.xattr.user.", "LIBARCHIVE.xattr.user."):
        if key == prefix + "mime_type":
            return "Content-Type"
        if key.startswith(prefix + "meta."):
            return "X-Object-Meta-" + key[len(prefix + "meta.") :]
    return None


def _upload_info() -> dict[str, Any]:
    return {
        "max_containers_per_extraction": LIMITS.max_containers_per_extraction,
        "max_failed_extractions": LIMITS.max_failed_extractions,
    }


def _delete_info() -> dict[str, Any]:
    return {
        "max_deletes_per_request": LIMITS.max_deletes_per_request,
        "max_failed_deletes": LIMITS.max_failed_deletes,
    }


FEATURE = pipeline.Feature("bulk_upload", handle, _upload_info, (("bulk_delete", _delete_info),))
