"""``PUT ?multipart-manifest=put``: check a static large object's manifest, then store it.

As Swift's ``handle_multipart_put``: the body (at most ``max_manifest_size``)
is parsed, every distinct segment is looked at (as the client: its read
access counts), problems are answered together (400, one line or JSON/XML
entry per problem), a client ETag must be the large object's (422), and
the manifest is stored in Swift's form through the rest of the pipeline
with the whole size and ETag (``swift_bytes`` / ``slo_etag`` for
listings). With ``heartbeat=on`` the answer is a 202 at once, whitespace
every ``yield_frequency`` seconds, and the outcome in the body.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from objectstore.proxy import errors as core_errors
from objectstore.proxy import manifest
from objectstore.proxy.models import ObjectInfo, ObjectMetadata
from objectstore.proxy.swift import auth, obj
from objectstore.proxy.swift.errors import HTML, REASONS, SwiftError, from_core, html_body, reason
from objectstore.proxy.swift.headers import truthy
from objectstore.proxy.swift.heartbeat import out_type, render
from objectstore.proxy.swift.middleware import slo_manifest
from objectstore.proxy.swift.middleware.slo_manifest import Wanted
from objectstore.proxy.swift.pipeline import Next

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

YIELD_FREQUENCY = 10  # seconds between heartbeat whitespace (Swift's yield_frequency)
HEAD_CONCURRENCY = 2  # segments looked at together (Swift's slo concurrency)
SEPARATOR = b"\r\n\r\n"


@dataclass
class Result:
    """The outcome of a manifest PUT, for the heartbeat body or a plain answer."""

    fields: dict[str, object] = field(default_factory=dict[str, object])
    problems: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    response: web.StreamResponse | None = None  # the stored manifest's answer


async def handle_put(ctx: Ctx, next: Next) -> web.StreamResponse:
    assert ctx.container is not None and ctx.obj is not None
    if ctx.headers.get("X-Copy-From"):
        raise SwiftError(405, "Multipart Manifest PUTs cannot be COPY requests", content_type=HTML)
    limit = slo_manifest.MAX_MANIFEST_SIZE
    length = ctx.content_length
    if length is None and "chunked" not in ctx.headers.get("Transfer-Encoding", "").lower():
        raise SwiftError(411)
    if length is not None and length > limit:
        raise SwiftError(413, f"Manifest File > {limit} bytes", content_type=HTML)
    await obj.authorize(ctx, ctx.account, ctx.container, "PUT")
    body = await _read(ctx, limit + 1)
    if len(body) > limit:
        raise SwiftError(413, f"Manifest File > {limit} bytes", content_type=HTML)
    wanted = slo_manifest.parse(body, ctx.container, ctx.obj)
    if sum(1 for w in wanted if w.data is None) > slo_manifest.MAX_MANIFEST_SEGMENTS:
        raise SwiftError(
            413,
            f"Number of object-backed segments must be <= {slo_manifest.MAX_MANIFEST_SEGMENTS}",
            content_type=HTML,
        )
    media = out_type(ctx.headers.get("Accept")) or "text/plain"
    if truthy(ctx.params.get("heartbeat")):
        return await _heartbeat(ctx, media, lambda: _store(ctx, next, wanted, heartbeat=True))
    result = await _store(ctx, next, wanted, heartbeat=False)
    if result.problems:
        # Swift streams this answer (no Content-Length).
        resp = web.StreamResponse(status=400, headers={"Content-Type": media})
        resp.enable_chunked_encoding()
        await resp.prepare(ctx.request)
        await resp.write(render(media, {}, result.problems, "upload"))
        await resp.write_eof()
        return resp
    assert result.response is not None
    return result.response


async def _read(ctx: Ctx, limit: int) -> bytes:
    got = bytearray()
    async for chunk in ctx.body_chunks():
        got += chunk
        if len(got) >= limit:
            break
    return bytes(got)


async def _heartbeat(
    ctx: Ctx, media: str, work: Callable[[], Awaitable[Result]]
) -> web.StreamResponse:
    """202 now, whitespace while ``work`` runs, then its outcome in ``media``'s form."""
    resp = web.StreamResponse(status=202, headers={"Content-Type": media})
    await resp.prepare(ctx.request)
    await resp.write(b" ")
    task = asyncio.ensure_future(work())
    try:
        while not task.done():
            done, _pending = await asyncio.wait({task}, timeout=YIELD_FREQUENCY)
            if not done:
                await resp.write(b" ")
        result = task.result()
    finally:
        task.cancel()
    await resp.write(SEPARATOR + render(media, result.fields, result.problems, "upload"))
    await resp.write_eof()
    return resp


async def _store(ctx: Ctx, next: Next, wanted: list[Wanted], *, heartbeat: bool) -> Result:
    """Look at the segments; store the manifest when they are all right."""
    entries, total, problems = await _check_all(ctx, wanted)
    if problems:
        fields: dict[str, object] = {}
        if heartbeat:
            fields = {
                "Response Status": "400 Bad Request",
                "Response Body": "\n".join(_reason_lines(400)),
            }
        return Result(fields, problems)
    etag = slo_manifest.slo_etag(entries)
    client = ctx.headers.get("Etag")
    if client and client.strip().strip('"') != etag:
        if not heartbeat:
            raise SwiftError(422)
        return Result(_failure(SwiftError(422)))
    data = slo_manifest.stored_body(entries)
    try:
        resp = await next(_manifest_put(ctx, data, total, etag))
    except (SwiftError, core_errors.ProxyError) as exc:
        error = _swift_error(exc)
        if not heartbeat:
            raise error from None
        return Result(_failure(error))
    line = f"{resp.status} {reason(resp.status)}"
    text = (resp.text or "") if isinstance(resp, web.Response) else ""
    if not 200 <= resp.status < 300:
        return Result({"Response Status": line, "Response Body": text}, [], resp)
    resp.headers["Etag"] = f'"{etag}"'
    fields: dict[str, object] = {
        "Response Status": line,
        "Etag": resp.headers["Etag"],
        "Last Modified": resp.headers.get("Last-Modified", ""),
    }
    if heartbeat:
        fields["Response Body"] = text
    return Result(fields, [], resp)


def _swift_error(exc: Exception) -> SwiftError:
    if isinstance(exc, SwiftError):
        return exc
    mapped = from_core(exc)
    assert mapped is not None
    return mapped


def _failure(exc: SwiftError) -> dict[str, object]:
    """The heartbeat fields of a failure: its status, and its body (or swob's reasons)."""
    body = exc.body if exc.body is not None else html_body(exc.status).decode("utf-8")
    return {
        "Response Status": f"{exc.status} {reason(exc.status)}",
        "Response Body": body or "\n".join(_reason_lines(exc.status)),
    }


def _reason_lines(status: int) -> list[str]:
    """swob's RESPONSE_REASONS entry: the title and the explanation."""
    return [reason(status), REASONS.get(status, ("", ""))[1]]


async def _check_all(
    ctx: Ctx, wanted: list[Wanted]
) -> tuple[list[dict[str, Any]], int, list[tuple[str, str]]]:
    """The stored entries, the whole size and the problems, in Swift's order."""
    by_path: dict[str, list[Wanted]] = {}
    for w in wanted:
        if w.data is None:
            by_path.setdefault(w.path, []).append(w)
    sem = asyncio.Semaphore(HEAD_CONCURRENCY)
    done: list[tuple[str, ObjectInfo | None, str]] = []  # in the order the answers came

    async def look(path: str) -> None:
        async with sem:
            done.append((path, *await _head(ctx, by_path[path][0])))

    await asyncio.gather(*(look(p) for p in by_path))
    entries: dict[int, dict[str, Any]] = {}
    total = 0
    problems: list[tuple[str, str]] = []
    for w in wanted:
        if w.data is not None:
            entries[w.index] = slo_manifest.data_entry(w)
            total += len(w.data)
    last = len(wanted) - 1
    for path, info, status in done:
        for w in by_path[path]:
            checked = slo_manifest.check_segment(w, info, status, last=w.index == last)
            entries[w.index] = checked.entry
            total += checked.length
            problems.extend(checked.problems)
    return [entries[i] for i in range(len(wanted))], total, problems


async def _head(ctx: Ctx, w: Wanted) -> tuple[ObjectInfo | None, str]:
    """What a HEAD of the segment, as the client, finds (None and the status when it fails)."""
    container, name = w.container_object
    try:
        await obj.authorize(ctx, ctx.account, container, "HEAD")
        return await ctx.core.head_object(ctx.account, container, name), "200 OK"
    except SwiftError as exc:
        return None, f"{exc.status} {reason(exc.status)}"
    except core_errors.ProxyError as exc:
        mapped = from_core(exc)
        assert mapped is not None
        return None, f"{mapped.status} {reason(mapped.status)}"


def _manifest_put(ctx: Ctx, data: bytes, total: int, etag: str) -> Ctx:
    """The PUT that stores the manifest: its body, ETag, type and system entries."""
    assert ctx.container is not None and ctx.obj is not None
    headers = CIMultiDict(ctx.headers)
    for name in ("Transfer-Encoding", "X-Detect-Content-Type", "Etag"):
        headers.popall(name, None)
    headers["Content-Length"] = str(len(data))
    headers["Etag"] = hashlib.md5(data).hexdigest()
    if not headers.get("Content-Type"):
        guessed, _enc = mimetypes.guess_type(ctx.obj, strict=False)
        headers["Content-Type"] = guessed or "application/octet-stream"

    def edit(md: ObjectMetadata) -> ObjectMetadata:
        md.content_type = f"{md.content_type};swift_bytes={total};slo_etag={etag}"
        md.system = {
            **(md.system or {}),
            manifest.MARK: manifest.SLO,
            manifest.SIZE: str(total),
            manifest.ETAG: etag,
        }
        return md

    async def body() -> AsyncIterator[bytes]:
        yield data

    params = {k: v for k, v in ctx.params.items() if k not in ("multipart-manifest", "heartbeat")}
    environ: dict[str, Any] = {obj.PUT_EDITS: [edit]}
    if auth.SIGNED_SCOPE in ctx.environ:  # a signed request (tempurl) stays signed
        environ[auth.SIGNED_SCOPE] = ctx.environ[auth.SIGNED_SCOPE]
    return dataclasses.replace(
        ctx,
        method="PUT",
        params=params,
        headers=CIMultiDictProxy(headers),
        body=body(),
        environ=environ,
    )
