"""Static large objects (Swift's ``slo`` middleware).

A manifest PUT with ``?multipart-manifest=put`` (:mod:`slo_put`) stores
Swift's manifest with the whole size and ETag; the core then reads the
object through its segments (ranges within segments, inline data, nested
manifests: :mod:`objectstore.proxy.manifest`). This filter shows it as
Swift does: ``X-Static-Large-Object: True``, the quoted ETag of the whole
and the manifest's own as ``X-Manifest-Etag``; ``?multipart-manifest=get``
gives the stored manifest (``&format=raw``: in the form a client PUTs),
``?multipart-manifest=delete`` (:mod:`slo_delete`) removes the segments
too, and container listings show a manifest's whole size and
``slo_etag``. Copies read the whole object, or with
``?multipart-manifest=get`` copy the manifest itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.proxy import manifest
from objectstore.proxy.models import ObjectInfo
from objectstore.proxy.swift import obj
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.listing import ROW_EDITS
from objectstore.proxy.swift.middleware import slo_delete, slo_manifest, slo_put
from objectstore.proxy.swift.pipeline import Feature, Next
from stratus.digits import ascii_uint

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

MANIFEST_TYPE = "application/json; charset=utf-8"


async def handle(ctx: Ctx, next: Next) -> web.StreamResponse:
    if ctx.container is None:
        return await next(ctx)
    if ctx.obj is None:
        if ctx.method == "GET":
            ctx.environ.setdefault(ROW_EDITS, []).append(listing_row)
        return await next(ctx)
    mode = ctx.params.get("multipart-manifest")
    if ctx.method == "PUT" and mode == "put":
        return await slo_put.handle_put(ctx, next)
    if ctx.method == "DELETE" and mode == "delete":
        return await slo_delete.handle_delete(ctx, next)
    if ctx.method in ("GET", "HEAD"):
        if mode == "get":
            ctx.environ[obj.READ_RAW] = True
        ctx.environ.setdefault(obj.PRESENT, []).append(present)
        return await next(ctx)
    if "X-Static-Large-Object" in ctx.headers:
        raise SwiftError(
            400,
            "X-Static-Large-Object is a reserved header. To create a static large object "
            "add query param multipart-manifest=put.",
            content_type=HTML,
        )
    if _copying(ctx) and mode == "get":
        ctx.environ[obj.READ_RAW] = True
        ctx.environ.setdefault(obj.PRESENT, []).append(present)
    return await next(ctx)


def _copying(ctx: Ctx) -> bool:
    return ctx.method == "COPY" or (ctx.method == "PUT" and "X-Copy-From" in ctx.headers)


async def present(ctx: Ctx, info: ObjectInfo, body: Any) -> tuple[ObjectInfo, Any]:
    """An SLO as Swift's middleware shows it (other objects pass unchanged)."""
    if not manifest.is_slo(info.system):
        return info, body
    if _copying(ctx):
        if ctx.environ.get(obj.READ_RAW):  # a copy of the manifest: Swift's answer is a PUT's
            slo_etag = info.system.get(manifest.ETAG, "")
            ctx.on_prepare.append(lambda resp: _set(resp, "Etag", f'"{slo_etag}"'))
        return info, body
    if info.manifest_etag is not None:  # shown whole
        headers = {
            "X-Static-Large-Object": "True",
            "Etag": f'"{info.etag}"',
            "X-Manifest-Etag": info.manifest_etag,
        }
        ctx.on_prepare.append(lambda resp: _add(resp, headers))
        if "part-number" in ctx.params:
            return await _part(ctx, info, body, headers)
        return info, body
    ctx.on_prepare.append(lambda resp: _add(resp, {"X-Static-Large-Object": "True"}))
    if ctx.params.get("format") == "raw" and body is not None:
        return await _client_form(ctx, info, body)
    return dataclasses.replace(info, content_type=MANIFEST_TYPE), body


async def _part(
    ctx: Ctx, info: ObjectInfo, body: Any, headers: dict[str, str]
) -> tuple[ObjectInfo, Any]:
    """``?part-number=N``: the Nth segment of the manifest, as a 206 (Swift 2.38)."""
    number = ascii_uint(ctx.params["part-number"])
    if not number:
        raise SwiftError(400, "Part number must be an integer greater than 0", content_type=HTML)
    if ctx.headers.get("Range"):
        raise SwiftError(
            400, "Range requests are not supported with part number queries", content_type=HTML
        )
    if body is None:  # a HEAD: the segments are in the manifest
        assert ctx.container is not None and ctx.obj is not None
        raw, opened = await ctx.core.get_object(ctx.account, ctx.container, ctx.obj, raw=True)
        try:
            segments = manifest.load(raw.system, await opened.read())
        finally:
            opened.close()
        body = manifest.SegmentedBody(ctx.core, ctx.account, segments)
    segments = body.segments
    headers["X-Parts-Count"] = str(len(segments))
    if number > len(segments):
        body.close()
        raise SwiftError(
            416,
            "The requested part number is not satisfiable",
            {**obj.object_headers(info), **headers, "Content-Range": f"bytes */{info.size}"},
            content_type=info.content_type,
        )
    start, stop = manifest.offsets(segments)[number - 1]
    body.select([(start, stop - 1)])
    return info, body


async def _client_form(ctx: Ctx, info: ObjectInfo, body: Any) -> tuple[ObjectInfo, Any]:
    """``&format=raw``: the manifest as a client PUTs it, typed as the large object."""
    try:
        stored = await body.read()
    finally:
        body.close()
    data = slo_manifest.client_form(stored)
    shown = dataclasses.replace(
        info,
        size=len(data),
        etag=hashlib.md5(data).hexdigest(),
        content_type=manifest.strip_listing_params(info.content_type),
    )
    inline = manifest.Segment("", "", len(data), "", data=data)
    return shown, manifest.SegmentedBody(ctx.core, ctx.account, [inline])


def _add(resp: web.StreamResponse, headers: dict[str, str]) -> None:
    if resp.status < 300 or resp.status == 304:
        resp.headers.update(headers)


def _set(resp: web.StreamResponse, name: str, value: str) -> None:
    if resp.status < 300 and name in resp.headers:
        resp.headers[name] = value


def listing_row(fields: dict[str, object]) -> None:
    """A listing row of a manifest: its whole size (``swift_bytes``), ``slo_etag``.

    Swift's container server takes ``swift_bytes`` out of the content type
    into ``bytes``; its slo middleware moves ``slo_etag`` to a key of its
    own; an S3 multipart upload's ETag stays with ``hash`` as ``s3_etag``.
    """
    ctype = fields.get("content_type")
    if not isinstance(ctype, str) or ";" not in ctype:
        return
    base, params = manifest.split_listing_params(ctype)
    if "swift_bytes" not in params:  # only manifests carry them (clients may not set it)
        fields["content_type"] = manifest.strip_object_params(ctype)  # (S3's, on any object)
        return
    fields["content_type"] = base
    size = params.get("swift_bytes", "")
    if size.isdigit():
        fields["bytes"] = int(size)
    if params.get("s3_etag"):
        fields["hash"] = f"{fields['hash']}; s3_etag={params['s3_etag']}"
    if params.get("slo_etag"):
        fields["slo_etag"] = f'"{params["slo_etag"]}"'


def info() -> dict[str, Any]:
    return {
        "max_manifest_segments": slo_manifest.MAX_MANIFEST_SEGMENTS,
        "max_manifest_size": slo_manifest.MAX_MANIFEST_SIZE,
        "yield_frequency": slo_put.YIELD_FREQUENCY,
        "min_segment_size": 1,
        "allow_async_delete": True,
    }


FEATURE = Feature("slo", handle, info)
