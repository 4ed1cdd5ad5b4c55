"""Dynamic large objects (Swift's ``dlo`` middleware).

An object with ``X-Object-Manifest: <container>/<prefix>`` (kept like a
content attribute: a POST sets or drops it) stands for the objects of that
container whose names start with the prefix, in listing order. A GET or
HEAD lists them as the client (the segment container's read ACL, its
referrer rules and ``.rlistings``, must allow the listing) and shows the
whole: its length, and the quoted MD5 of the segments' ETags as ETag; a
range is cut from the segments (several ranges get the whole object, as in
Swift). A copy (COPY, or
PUT with X-Copy-From) stores the whole bytes as a plain object;
``?multipart-manifest=get`` reads, or copies, the manifest object itself.
A PUT with a malformed X-Object-Manifest is refused (400).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy import manifest
from objectstore.proxy.models import ListParams, ObjectInfo, ObjectRow
from objectstore.proxy.ranges import RangeSpec
from objectstore.proxy.swift import auth, obj
from objectstore.proxy.swift.constraints import CONTAINER_LISTING_LIMIT
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.headers import OBJECT_MANIFEST
from objectstore.proxy.swift.pipeline import Feature, Next

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

MAX_PAGES = 10  # listing pages read for one object (Swift reads on while it streams)


async def handle(ctx: Ctx, next: Next) -> web.StreamResponse:
    if ctx.container is None or ctx.obj is None:
        return await next(ctx)
    whole = ctx.params.get("multipart-manifest") != "get"
    if ctx.method == "PUT":
        _check_header(ctx.headers.get("X-Object-Manifest"))
    if whole and (ctx.method in ("GET", "HEAD", "COPY") or "X-Copy-From" in ctx.headers):
        ctx.environ.setdefault(obj.PRESENT, []).append(present)
    return await next(ctx)


def _check_header(value: str | None) -> None:
    """Swift's _validate_x_object_manifest_header: ``container/prefix``."""
    if value is None:
        return
    container, _, prefix = value.partition("/")
    if not container or not prefix or "?" in value or "&" in value or prefix.startswith("/"):
        raise SwiftError(
            400, "X-Object-Manifest must be in the format container/prefix", content_type=HTML
        )


def _copying(ctx: Ctx) -> bool:
    return ctx.method not in ("GET", "HEAD")


async def present(ctx: Ctx, info: ObjectInfo, body: Any) -> tuple[ObjectInfo, Any]:
    """A DLO manifest as the whole of its segments (other objects pass unchanged)."""
    value = info.attributes.get(OBJECT_MANIFEST)
    if value is None or "/" not in value:
        return info, body
    container, _, prefix = unquote(value).partition("/")
    rows = await _segments(ctx, container, prefix)
    etag = hashlib.md5("".join(r.etag.strip('"') for r in rows).encode("utf-8")).hexdigest()
    attributes = dict(info.attributes)
    if _copying(ctx):  # the copy is a plain object holding the bytes
        attributes.pop(OBJECT_MANIFEST)
    else:
        ctx.on_prepare.append(lambda resp: _quote_etag(resp, etag))
    shown = dataclasses.replace(
        info,
        size=sum(r.size for r in rows),
        etag=etag,
        attributes=attributes,
        manifest_etag=info.etag,
    )
    if body is None:
        return shown, None
    body.close()
    segments = [manifest.Segment(container, r.name, r.size, r.etag) for r in rows]
    return shown, DloBody(ctx.core, ctx.account, segments, check_etag=False)


class DloBody(manifest.SegmentedBody):
    """A DLO's bytes: as Swift's dlo, a request for several ranges gets the whole object."""

    def select(self, specs: Sequence[RangeSpec]) -> list[tuple[int, int]]:
        if len(specs) > 1:
            return []
        return super().select(specs)


def _quote_etag(resp: web.StreamResponse, etag: str) -> None:
    if (resp.status < 300 or resp.status == 304) and "Etag" in resp.headers:
        resp.headers["Etag"] = f'"{etag}"'


async def _segments(ctx: Ctx, container: str, prefix: str) -> list[ObjectRow]:
    """The segment objects, listed as the client may list them (Swift's subrequest)."""
    await _authorize_listing(ctx, container)
    rows: list[ObjectRow] = []
    marker = ""
    for _page in range(MAX_PAGES):
        params = ListParams(limit=CONTAINER_LISTING_LIMIT, marker=marker, prefix=prefix)
        try:
            _info, page = await ctx.core.list_objects(ctx.account, container, params)
        except core_errors.NotFound:
            raise SwiftError(404) from None
        except core_errors.InvalidInput:
            raise SwiftError(404) from None
        found = [r for r in page if isinstance(r, ObjectRow)]
        rows += found
        if len(page) < CONTAINER_LISTING_LIMIT or not found:
            return rows
        marker = found[-1].name
    raise SwiftError(409)  # more segments than one answer may hold


async def _authorize_listing(ctx: Ctx, container: str) -> None:
    """Owner rights, a signed scope, or the container's read ACL for listings."""
    access = auth.owner_access(ctx.principal, ctx.account)
    if access is not None:
        auth.check_owner(access, ctx.principal, "GET")
        return
    if auth.signed_access(ctx.environ, ctx.account, container) is not None:
        return
    info = await ctx.core.container_info(ctx.account, container)
    auth.acl_access(ctx.principal, info, "GET", obj=False, referer=ctx.headers.get("Referer"))


FEATURE = Feature("dlo", handle)
