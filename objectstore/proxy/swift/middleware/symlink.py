"""Swift's symlink middleware: zero-byte objects that stand for another object.

A PUT with ``X-Symlink-Target: <container>/<object>`` (and optionally
``X-Symlink-Target-Account``) stores a link; with ``X-Symlink-Target-Etag``
a *static* link, whose target must exist and match when it is made and
every time it is read. GET and HEAD follow links (at most ``SYMLOOP_MAX``
of them, naming the last path in ``Content-Location``), with the reader's
own rights checked on every container they pass; ``?symlink=get`` shows the
link itself with its ``X-Symlink-*`` headers. POST applies to the link and
answers 307 to the target; COPY copies the target unless ``?symlink=get``.

The link lives in the object's system entries (``symlink-target``...),
which the native API never shows otherwise. Listings cannot read those, so
the link also rides in the content type as ``swift_symlink_*`` parameters
(no client may send ``swift_*`` parameters), which container listings turn
into Swift's ``symlink_path`` / ``symlink_etag`` / ``symlink_bytes`` keys,
as Swift's middleware does with the parameters it keeps in the row's hash.
Statuses, bodies and headers are Swift 2.38's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ObjectInfo, ObjectMetadata
from objectstore.proxy.swift import listing, obj
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.middleware.hooks import ResponseEdit, inspecting
from objectstore.proxy.swift.pipeline import Feature, Next

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

SYMLOOP_MAX = 2  # Swift's default symloop_max
TEXT = "text/plain"  # the symlink middleware's own error bodies (no charset)
FORM_ERROR = "X-Symlink-Target header must be of the form <container name>/<object name>"
REDIRECT_BODY = (
    "The requested POST was applied to a symlink. "
    "POST directly to the target to apply requested metadata."
)

# System entries of a link, and the headers ?symlink=get shows them as.
FIELDS = (
    ("target", "X-Symlink-Target"),
    ("account", "X-Symlink-Target-Account"),
    ("etag", "X-Symlink-Target-Etag"),
    ("bytes", "X-Symlink-Target-Bytes"),
)
SYSTEM_PREFIX = "symlink-target"
PARAM_PREFIX = "swift_symlink_target"


def _system_key(field: str) -> str:
    return SYSTEM_PREFIX if field == "target" else f"{SYSTEM_PREFIX}-{field}"


def _param_key(field: str) -> str:
    return PARAM_PREFIX if field == "target" else f"{PARAM_PREFIX}_{field}"


@dataclass(frozen=True)
class Link:
    """A symlink: its target ``container/object`` and account as stored (quoted)."""

    target: str
    account: str | None = None
    etag: str | None = None  # static links only, with ``bytes``
    bytes: str | None = None

    @classmethod
    def from_system(cls, system: Mapping[str, str]) -> Link | None:
        target = system.get(SYSTEM_PREFIX)
        if not target:
            return None
        values = {f: system.get(_system_key(f)) for f, _header in FIELDS[1:]}
        return cls(target, **values)

    def _values(self) -> list[tuple[str, str, str]]:
        """(field, header, value) of the fields this link has."""
        return [(f, h, v) for f, h in FIELDS if (v := getattr(self, f)) is not None]

    def system(self) -> dict[str, str]:
        return {_system_key(f): v for f, _h, v in self._values()}

    def headers(self) -> dict[str, str]:
        return {h: v for _f, h, v in self._values()}

    def listing_params(self) -> str:
        return "".join(f";{_param_key(f)}={v}" for f, _h, v in self._values())

    def path(self, version: str, account: str) -> str:
        """The target's path (``Content-Location``, ``Location``, ``symlink_path``)."""
        return f"/{version}/{self.account or quote(account)}/{self.target}"

    def resolve(self, account: str) -> tuple[str, str, str]:
        """The target's (account, container, object), relative to the link's account."""
        container, _, name = unquote(self.target).partition("/")
        return (unquote(self.account) if self.account else account), container, name


def split_params(content_type: str) -> tuple[str, dict[str, str]]:
    """The content type without the link's parameters, and those parameters by field."""
    if PARAM_PREFIX not in content_type:
        return content_type, {}
    names = {_param_key(f): f for f, _h in FIELDS}
    parts = content_type.split(";")
    keep, found = parts[:1], dict[str, str]()
    for part in parts[1:]:
        key, _, value = part.strip().partition("=")
        if key in names:
            found[names[key]] = value
        else:
            keep.append(part)
    return ";".join(keep), found


@dataclass
class _Walk:
    """Where following a chain of links has got to (Swift's _recursive_get_head)."""

    version: str
    want_etag: str | None = None  # the static link just passed wants this ETag
    loops: int = 0
    location: str | None = None  # the path last reached through a link

    def where(self) -> dict[str, str]:
        return {"Content-Location": self.location} if self.location else {}

    def step(self, info: ObjectInfo, *, follow_dynamic: bool = True) -> Link | None:
        """The link to follow from ``info``, None at the end (409 when the chain fails)."""
        link = Link.from_system(info.system)
        if link is not None and (link.etag or follow_dynamic):
            found = link.etag or info.etag
            if self.want_etag and self.want_etag != found:
                raise SwiftError(
                    409,
                    "X-Symlink-Target-Etag headers do not match",
                    self.where(),
                    content_type=TEXT,
                )
            if self.loops >= SYMLOOP_MAX:
                self.location = None  # Swift's loop error names no path
                raise SwiftError(
                    409,
                    f"Too many levels of symbolic links, maximum allowed is {SYMLOOP_MAX}",
                    content_type=TEXT,
                )
            return link
        if self.want_etag and info.etag != self.want_etag:
            raise SwiftError(
                409,
                f"Object Etag {info.etag!r} does not match "
                f"X-Symlink-Target-Etag header {self.want_etag!r}",
                self.where(),
                content_type=TEXT,
            )
        return None

    def follow(self, link: Link, account: str) -> tuple[str, str, str]:
        """Pass ``link`` (found in ``account``): the next object to look at."""
        self.want_etag = link.etag
        self.loops += 1
        self.location = link.path(self.version, account)
        return link.resolve(account)


class _Follow(Exception):
    """Raised from inside a GET/HEAD handler: the object is a link to follow."""

    def __init__(self, link: Link) -> None:
        super().__init__(link.target)
        self.link = link


def _version(ctx: Ctx) -> str:
    return ctx.request.raw_path.split("/", 2)[1]


def _with_headers(ctx: Ctx, changes: Mapping[str, str]) -> Ctx:
    headers = CIMultiDict(ctx.headers)
    for name, value in changes.items():
        headers[name] = value
    return dataclasses.replace(ctx, headers=CIMultiDictProxy(headers))


async def _get_head(ctx: Ctx, next: Next) -> web.StreamResponse:
    """GET/HEAD: follow links until an object that is none; Content-Location names it."""
    walk = _Walk(_version(ctx))

    def check(info: ObjectInfo) -> None:
        link = walk.step(info)
        if link is not None:
            raise _Follow(link)

    def stamp(resp: web.StreamResponse) -> None:
        if walk.location:
            resp.headers["Content-Location"] = walk.location

    edit = ResponseEdit(ctx, stamp)
    hop = ctx
    with inspecting(ctx, check):
        try:
            while True:
                try:
                    return edit.finish(await next(hop))
                except _Follow as found:
                    account, container, name = walk.follow(found.link, hop.account)
                    hop = dataclasses.replace(hop, account=account, container=container, obj=name)
        except SwiftError as exc:
            exc.headers.update({k: v for k, v in walk.where().items() if k not in exc.headers})
            raise
        finally:
            edit.stop()


async def _get_link(ctx: Ctx, next: Next) -> web.StreamResponse:
    """``?symlink=get``: the link itself, its target in ``X-Symlink-*`` headers."""
    seen: list[ObjectInfo] = []

    def stamp(resp: web.StreamResponse) -> None:
        link = Link.from_system(seen[-1].system) if seen else None
        if link is None:
            return
        resp.headers.update(link.headers())
        ctype = resp.headers.get("Content-Type")
        if ctype is not None:
            resp.headers["Content-Type"] = split_params(ctype)[0]

    edit = ResponseEdit(ctx, stamp)
    with inspecting(ctx, seen.append):
        try:
            return edit.finish(await next(ctx))
        finally:
            edit.stop()


async def _zero_body(ctx: Ctx) -> bool:
    """Swift reads one byte when there is no Content-Length."""
    length = ctx.content_length
    if length is not None:
        return length == 0
    async for chunk in ctx.body_chunks():
        if chunk:
            return False
    return True


def _parse_target(ctx: Ctx) -> tuple[Link, dict[str, str]]:
    """The link a PUT asks for (Swift's _validate_and_prep_request_headers), and the
    header changes it implies."""
    assert ctx.container is not None and ctx.obj is not None
    raw = unquote(ctx.headers["X-Symlink-Target"])
    if raw.startswith("/"):
        raise SwiftError(412, FORM_ERROR, content_type=TEXT)
    container, _, name = raw.partition("/")
    if not container or not name:
        raise SwiftError(412, FORM_ERROR, content_type=HTML)
    account = None
    if "X-Symlink-Target-Account" in ctx.headers:
        account = unquote(ctx.headers["X-Symlink-Target-Account"])
        if not account:
            raise SwiftError(412, "Account name cannot be empty", content_type=HTML)
        if "/" in account:
            raise SwiftError(412, "Account name cannot contain slashes", content_type=HTML)
    if (account or ctx.account, container, name) == (ctx.account, ctx.container, ctx.obj):
        raise SwiftError(400, "Symlink cannot target itself", content_type=TEXT)
    etag = ctx.headers.get("X-Symlink-Target-Etag")
    if etag and len(etag) > 1 and etag.startswith('"') and etag.endswith('"'):
        etag = etag[1:-1]
    if etag and any(c in etag for c in ';"\\'):
        raise SwiftError(400, "Bad X-Symlink-Target-Etag format", content_type=TEXT)
    link = Link(
        quote(f"{container}/{name}"), quote(account) if account is not None else None, etag or None
    )
    changes: dict[str, str] = {}
    if not etag and not ctx.headers.get("Content-Type"):
        changes["Content-Type"] = "application/symlink"
    return link, changes


async def _reach(
    ctx: Ctx, walk: _Walk, path: tuple[str, str, str], *, static: bool
) -> tuple[tuple[str, str, str], ObjectInfo]:
    """Follow links from ``path`` through the core, the reader authorized on each hop.

    ``static``: checking a new static link (Swift's HEAD with follow_softlinks off):
    a dynamic link as its target is the end, and a missing one is 409.
    """
    account, container, name = path
    while True:
        try:
            await obj.authorize(ctx, account, container, "HEAD" if static else "GET")
            info = await ctx.core.head_object(account, container, name)
        except (core_errors.ObjectNotFound, core_errors.InvalidInput):
            if static:
                raise SwiftError(
                    409, "X-Symlink-Target does not exist", walk.where(), content_type=TEXT
                ) from None
            raise SwiftError(404, headers=walk.where()) from None
        except SwiftError as exc:
            if not static:
                exc.headers.update(walk.where())
            raise
        found = walk.step(info, follow_dynamic=not static or walk.loops > 0)
        if found is None:
            return (account, container, name), info
        account, container, name = walk.follow(found, account)


async def _check_static(ctx: Ctx, link: Link) -> ObjectInfo:
    """A static link's target must exist and have its ETag (409 otherwise)."""
    version = _version(ctx)
    walk = _Walk(version, want_etag=link.etag, location=link.path(version, ctx.account))
    return (await _reach(ctx, walk, link.resolve(ctx.account), static=True))[1]


async def _put(ctx: Ctx, next: Next) -> web.StreamResponse:
    """PUT with X-Symlink-Target: a zero-byte object carrying the link."""
    if not await _zero_body(ctx):
        raise SwiftError(400, "Symlink requests require a zero byte body", content_type=TEXT)
    link, changes = _parse_target(ctx)
    if link.etag:
        target = await _check_static(ctx, link)
        link = dataclasses.replace(link, bytes=str(target.size))
        if not ctx.headers.get("Content-Type"):
            changes["Content-Type"] = split_params(target.content_type)[0]

    def edit(md: ObjectMetadata) -> ObjectMetadata:
        return dataclasses.replace(
            md,
            system={**(md.system or {}), **link.system()},
            content_type=(md.content_type or "application/symlink") + link.listing_params(),
        )

    edits: list[Any] = ctx.environ.setdefault(obj.PUT_EDITS, [])
    edits.append(edit)
    try:
        return await next(_with_headers(ctx, changes))
    finally:
        edits.remove(edit)


async def _stored_link(ctx: Ctx, account: str, container: str, name: str) -> Link | None:
    """The link stored at a path (None: no link, or nothing readable there)."""
    try:
        info = await ctx.core.head_object(account, container, name, raw=True)
    except core_errors.ProxyError:
        return None
    return Link.from_system(info.system)


async def _post(ctx: Ctx, next: Next) -> web.StreamResponse:
    """POST applies to the link itself, then answers 307 with the target's path."""
    assert ctx.container is not None and ctx.obj is not None
    if "X-Symlink-Target" in ctx.headers:
        raise SwiftError(
            400, "A PUT request is required to set a symlink target", content_type=TEXT
        )
    link = await _stored_link(ctx, ctx.account, ctx.container, ctx.obj)
    if link is None:
        return await next(ctx)
    ctype = ctx.headers.get("Content-Type")
    if ctype:  # a new type keeps the link's listing parameters
        ctx = _with_headers(ctx, {"Content-Type": ctype + link.listing_params()})
    resp = await next(ctx)
    if not 200 <= resp.status < 300:
        return resp
    headers = {"Location": link.path(_version(ctx), ctx.account), "Content-Type": HTML}
    if link.etag:
        headers["X-Symlink-Target-Etag"] = link.etag
    return web.Response(
        status=307, reason="Temporary Redirect", body=REDIRECT_BODY.encode(), headers=headers
    )


def _copy_source(ctx: Ctx) -> tuple[str, str, str] | None:
    """The source of a COPY or PUT with X-Copy-From (None: let the handler refuse it)."""
    if ctx.method == "COPY":
        assert ctx.container is not None and ctx.obj is not None
        return ctx.account, ctx.container, ctx.obj
    container, _, name = unquote(ctx.headers["X-Copy-From"].strip()).lstrip("/").partition("/")
    account = unquote(ctx.headers.get("X-Copy-From-Account", ctx.account))
    return (account, container, name) if container and name and account else None


async def _copy(ctx: Ctx, next: Next) -> web.StreamResponse:
    """A copy of a link copies its target (the source as the client named it stays in
    ``X-Copied-From``)."""
    src = _copy_source(ctx)
    if src is None:
        return await next(ctx)
    try:
        await obj.authorize(ctx, src[0], src[1], "GET")
    except SwiftError:
        return await next(ctx)  # the handler refuses it, in its own order
    link = await _stored_link(ctx, *src)
    if link is None:
        return await next(ctx)
    walk = _Walk(_version(ctx))
    start = walk.follow(link, src[0])
    (account, container, name), _info = await _reach(ctx, walk, start, static=False)
    if ctx.method == "COPY":
        moved = dataclasses.replace(ctx, account=account, container=container, obj=name)
        moved = _with_headers(
            moved,
            {"Destination-Account": ctx.headers.get("Destination-Account", quote(ctx.account))},
        )
    else:
        moved = _with_headers(
            ctx,
            {"X-Copy-From": quote(f"{container}/{name}"), "X-Copy-From-Account": quote(account)},
        )
    resp = await next(moved)
    if not resp.prepared and "X-Copied-From" in resp.headers:
        resp.headers["X-Copied-From"] = quote(f"{src[1]}/{src[2]}")
        resp.headers["X-Copied-From-Account"] = quote(src[0])
    return resp


def _listing_fields(version: str, account: str, fields: dict[str, object]) -> None:
    """A link's row: its parameters out of the content type, Swift's keys in."""
    ctype = fields.get("content_type")
    if not isinstance(ctype, str):
        return
    clean, found = split_params(ctype)
    if "target" not in found:
        return
    fields["content_type"] = clean
    if "etag" in found:
        fields["symlink_etag"] = found["etag"]
    if "bytes" in found and found["bytes"].isdigit():
        fields["symlink_bytes"] = int(found["bytes"])
    fields["symlink_path"] = (
        f"/{version}/{found.get('account') or quote(account)}/{found['target']}"
    )


async def handle(ctx: Ctx, next: Next) -> web.StreamResponse:
    if ctx.container is None:
        return await next(ctx)
    if ctx.obj is None:
        if ctx.method == "GET":
            edit = partial(_listing_fields, _version(ctx), ctx.account)
            ctx.environ.setdefault(listing.ROW_EDITS, []).append(edit)
        return await next(ctx)
    if ctx.method in ("GET", "HEAD"):
        if ctx.params.get("symlink") == "get":
            return await _get_link(ctx, next)
        return await _get_head(ctx, next)
    if ctx.method == "PUT" and "X-Symlink-Target" in ctx.headers:
        return await _put(ctx, next)
    if ctx.method == "POST":
        return await _post(ctx, next)
    if ctx.params.get("symlink") != "get" and (
        ctx.method == "COPY" or (ctx.method == "PUT" and "X-Copy-From" in ctx.headers)
    ):
        return await _copy(ctx, next)
    return await next(ctx)


def info() -> dict[str, Any]:
    return {"symloop_max": SYMLOOP_MAX, "static_links": True}


FEATURE = Feature("symlink", handle, info)
