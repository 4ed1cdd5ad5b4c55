"""What an object write would add: its destination and its size, for the quota filters.

Swift's quota middlewares sit after its ``copy`` middleware, which has
already turned ``COPY`` and ``PUT`` + ``X-Copy-From`` into a plain PUT of
the destination whose Content-Length is the source's size. Stratus copies
in the object handler, so the quota filters ask here: the destination of
the write and the bytes it brings (a chunked PUT counts 0, as in Swift,
which cannot know). When the copy itself would fail (bad headers, a source
the caller may not read, or none), there is nothing to measure: the handler
gives its own answer, as Swift's copy answers before any quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from objectstore.proxy import errors as core_errors
from objectstore.proxy.swift import obj
from objectstore.proxy.swift.errors import HTML, SwiftError

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

_SIZES = "stratus.upload.source_size"  # ctx.environ: a copy's source size, measured once


@dataclass(frozen=True)
class Upload:
    """An object write: where it goes, and what it brings."""

    account: str
    container: str
    declared: int  # a plain PUT's Content-Length (0 when chunked)
    source: tuple[str, str, str] | None = None  # a copy's source

    async def length(self, ctx: Ctx) -> int | None:
        """The bytes written; None when a copy would fail before writing anything."""
        if self.source is None:
            return self.declared
        if _SIZES not in ctx.environ:
            ctx.environ[_SIZES] = await _source_size(ctx, self.source)
        size: int | None = ctx.environ[_SIZES]
        return size


def _target(value: str) -> tuple[str, str] | None:
    """``[/]container/object`` as the object handler reads it; None when it would refuse."""
    try:
        path = unquote(value.strip(), errors="strict").lstrip("/")
    except UnicodeDecodeError:
        return None
    cont, _, name = path.partition("/")
    return (cont, name) if cont and name else None


def incoming(ctx: Ctx) -> Upload | None:
    """The object write ``ctx`` asks for (a PUT, a copy's destination), else None."""
    if ctx.container is None or ctx.obj is None:
        return None
    copy_from = ctx.headers.get("X-Copy-From")
    if ctx.method == "PUT" and copy_from is None:
        return Upload(ctx.account, ctx.container, ctx.content_length or 0)
    if ctx.method == "PUT" and copy_from is not None:
        found = _target(copy_from)
        if found is None or ctx.content_length:
            return None
        account = unquote(ctx.headers.get("X-Copy-From-Account", ctx.account))
        return Upload(ctx.account, ctx.container, 0, (account, *found))
    if ctx.method == "COPY":
        found = _target(ctx.headers.get("Destination", ""))
        if found is None:
            return None
        account = unquote(ctx.headers.get("Destination-Account", ctx.account))
        return Upload(account, found[0], 0, (ctx.account, ctx.container, ctx.obj))
    return None


async def _source_size(ctx: Ctx, source: tuple[str, str, str]) -> int | None:
    """The size a copy of ``source`` writes; None when the caller may not read it or it is gone."""
    try:
        await obj.authorize(ctx, source[0], source[1], "GET")
        raw = ctx.params.get("multipart-manifest") == "get"
        info = await ctx.core.head_object(*source, raw=raw)
    except (SwiftError, core_errors.ProxyError):
        return None
    return info.size


async def refuse(ctx: Ctx, upload: Upload, body: str) -> SwiftError:
    """A quota's 413, after the caller's own 401/403 for writing there: as Swift's quota
    middlewares authorize first, a caller who may not write learns nothing of the quota."""
    await obj.authorize(ctx, upload.account, upload.container, "PUT")
    return SwiftError(413, body, content_type=HTML)  # swob's default type for the body
