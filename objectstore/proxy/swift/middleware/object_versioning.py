"""Swift's object versioning (2.24+): ``X-Versions-Enabled``, ``?versions``, ``?version-id``.

The API is Swift 2.38's, answer for answer: a container PUT or POST with
``X-Versions-Enabled: true`` (the account's owners only) makes the hidden
versions container and turns versioning on (``false`` turns it off; old
versions stay). While on, every PUT makes a new version, whose id (the
write's timestamp, ``1796669413.50836``) comes back in
``X-Object-Version-Id``, and a DELETE writes a delete marker (content type
``application/x-deleted;swift_versions_deleted=1``). ``?version-id=<id>``
reads (GET/HEAD), removes (DELETE) or restores (PUT, zero bytes) one
version; ``version-id=null`` names the object written while versioning was
off. A container with versions left cannot be deleted (409).

Layout. As in Swift, every version is written straight into the hidden
container (``versions_names``), named by its own timestamp, and every
delete marker too: two writers never write the same name, so no write can
lose another's, through any number of proxies. Swift's container then gets
a symlink to it; Stratus puts a copy of the version there instead (system
entries ``versions-id``, its id, and ``versions-kept``), so a plain GET
(either API) reads it directly and the S3 layer sees the same objects.
The copy carries the version's own timestamp, as Swift's symlink does, so
the nodes keep the newest of racing writes as the current one; a DELETE
removes it with its marker's timestamp (a newer write stays current).

Stored before this layout: the current version only in the container
(no ``versions-kept``). A write that finds it there archives it first, as
before (a server-side copy named by its own id: idempotent), and listings
merge the container's current objects with the hidden entries either way,
so old containers read and list as before, with nothing migrated ahead of
use. An object written while versioning was off is the ``null`` version
until it is archived, when it gets its timestamp as id, as in Swift.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from objectstore.proxy import errors as core_errors
from objectstore.proxy.conditional import http_date
from objectstore.proxy.models import ContainerRow, ListParams, ObjectInfo, ObjectMetadata, SubdirRow
from objectstore.proxy.swift import account as account_handlers
from objectstore.proxy.swift import auth, obj
from objectstore.proxy.swift.constraints import RESERVED, check_object_name
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.headers import truthy
from objectstore.proxy.swift.middleware import versions_listing as vl
from objectstore.proxy.swift.middleware import versions_names as vn
from objectstore.proxy.swift.pipeline import Feature, Next
from objectstore.timestamp import Timestamp

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

CLIENT_HEADER = "X-Versions-Enabled"
ENABLED = "versions-enabled"  # container system entries: "True" / "False"
HIDDEN = "versions-container"  # ... and the hidden container's name (quoted)
LEGACY = "versions-location"  # the legacy middleware's (versioned_writes)
KEPT = "versions-kept"  # on a current object: its version's entry is in the hidden container
NO_HIDDEN = "The versions container does not exist. You may want to re-enable object versioning."


@dataclasses.dataclass(frozen=True)
class State:
    """A container's versioning: its hidden container (None: never on) and the switch."""

    hidden: str | None
    enabled: bool
    shown: bool = False  # X-Versions-Enabled was ever set (its header is shown)
    legacy: bool = False  # X-Versions-Location or X-History-Location is set

    @classmethod
    def of(cls, system: dict[str, str]) -> State:
        hidden = system.get(HIDDEN)
        return cls(
            unquote(hidden) if hidden else None,
            truthy(system.get(ENABLED)),
            ENABLED in system,
            bool(system.get(LEGACY)),
        )


async def container_system(ctx: Ctx, account: str, container: str) -> dict[str, str]:
    """A container's system entries (none for a missing one, or a name no container
    can have: the handlers answer for those)."""
    try:
        info = await ctx.core.container_info(account, container)
    except core_errors.InvalidInput:
        info = None
    return info.system if info is not None else {}


async def _state(ctx: Ctx, account: str, container: str) -> State:
    return State.of(await container_system(ctx, account, container))


def _with(ctx: Ctx, **changes: Any) -> Ctx:
    return dataclasses.replace(ctx, **changes)


def _without_version(ctx: Ctx) -> dict[str, str]:
    return {k: v for k, v in ctx.params.items() if k != "version-id"}


# --- containers -----------------------------------------------------------------


async def _enable(ctx: Ctx, next: Next) -> web.StreamResponse:
    """PUT/POST with X-Versions-Enabled: the hidden container first, the flags after."""
    assert ctx.container is not None
    auth.check_owner(auth.owner_access(ctx.principal, ctx.account), ctx.principal, ctx.method)
    state = await _state(ctx, ctx.account, ctx.container)
    if state.legacy:
        raise SwiftError(
            400,
            "Cannot enable object versioning on a container that is already using "
            "the legacy versioned writes feature.",
            content_type=HTML,
        )
    enabled = truthy(ctx.headers[CLIENT_HEADER])
    changes = {ENABLED: str(enabled)}
    hidden = vn.versions_container(ctx.container)
    if enabled:
        try:
            await ctx.core.put_container(ctx.account, hidden)
        except core_errors.ProxyError:
            raise SwiftError(500, "Error enabling object versioning", content_type=HTML) from None
        changes[HIDDEN] = quote(hidden)
    try:
        resp = await next(ctx)
    except Exception:
        if enabled:
            await _drop_hidden(ctx, hidden)
        raise
    if resp.status >= 300:
        if enabled:
            await _drop_hidden(ctx, hidden)
        return resp
    await ctx.core.post_container(ctx.account, ctx.container, system=changes)
    return resp


async def _drop_hidden(ctx: Ctx, hidden: str) -> None:
    # Not empty (it held versions before), or already gone: it stays as it is.
    with contextlib.suppress(core_errors.ProxyError):
        await ctx.core.delete_container(ctx.account, hidden)


async def _delete_container(ctx: Ctx, next: Next) -> web.StreamResponse:
    """409 while versions remain; the hidden container goes with its container."""
    assert ctx.container is not None
    state = await _state(ctx, ctx.account, ctx.container)
    if state.hidden is None:
        return await next(ctx)
    auth.check_owner(auth.owner_access(ctx.principal, ctx.account), ctx.principal, "DELETE")
    try:
        versions = await ctx.core.head_container(ctx.account, state.hidden)
    except core_errors.ContainerNotFound:
        versions = None
    if versions is not None and versions.object_count > 0:
        raise SwiftError(409, "Delete all versions before deleting container.", content_type=HTML)
    try:
        resp = await next(ctx)
    except core_errors.ContainerNotEmpty:
        raise SwiftError(
            409, "Delete all versions before deleting container.", content_type=HTML
        ) from None
    if resp.status < 300:
        await _drop_hidden(ctx, state.hidden)
    return resp


async def _read_container(ctx: Ctx, next: Next) -> web.StreamResponse:
    """GET/HEAD: X-Versions-Enabled and the versions' bytes in the answer; ``?versions``."""
    assert ctx.container is not None
    versions = "versions" in ctx.params and ctx.method == "GET"
    inner = ctx
    if versions:
        params = {k: v for k, v in ctx.params.items() if k != "versions"}
        inner = _with(ctx, params={**params, "format": "json"})
    resp = await next(inner)
    if resp.status >= 300 or resp.prepared:
        return resp
    state = await _state(ctx, ctx.account, ctx.container)
    if versions and isinstance(resp, web.Response):
        hidden = state.hidden or vn.versions_container(ctx.container)
        resp = await vl.list_versions(ctx, resp, hidden)
    if state.shown:
        resp.headers[CLIENT_HEADER] = str(state.enabled)
    if state.hidden is not None:
        try:
            extra = (await ctx.core.head_container(ctx.account, state.hidden)).bytes_used
        except core_errors.ContainerNotFound:
            extra = 0
        used = resp.headers.get("X-Container-Bytes-Used")
        if used is not None and used.isdigit():
            resp.headers["X-Container-Bytes-Used"] = str(int(used) + extra)
    return resp


async def _list_account(ctx: Ctx, next: Next) -> web.StreamResponse:
    """Hidden containers never listed; their bytes added to their containers'."""
    wanted = ctx.params

    async def fold(
        _params: ListParams, rows: list[ContainerRow | SubdirRow]
    ) -> list[ContainerRow | SubdirRow]:
        return await vl.fold_hidden(ctx, wanted, rows)

    edits: list[Any] = ctx.environ.setdefault(account_handlers.ROWS, [])
    edits.append(fold)
    return await next(_with(ctx, params=vl.hide_reserved(wanted)))


# --- objects --------------------------------------------------------------------


async def current_object(ctx: Ctx) -> ObjectInfo | None:
    """The object as stored now (a manifest or link as such), or None."""
    assert ctx.container is not None and ctx.obj is not None
    try:
        return await ctx.core.head_object(
            ctx.account, ctx.container, ctx.obj, raw=True, newest=True
        )
    except core_errors.ObjectNotFound:
        return None


async def _archive(ctx: Ctx, hidden: str, current: ObjectInfo) -> None:
    """Copy the current version into the hidden container, under its version id.

    A version keeps the time it was written (its id); a null version gets
    the time of the copy, and its own timestamp as id, as Swift's do.
    """
    assert ctx.container is not None and ctx.obj is not None
    version = vl.version_of(current)
    stamp = vn.parse_version(version) if version is not None else None
    name = vn.entry_name(ctx.obj, stamp or current.timestamp)
    md = ObjectMetadata(system={vl.VERSION: ""}, delete_at=current.delete_at, timestamp=stamp)
    try:
        await ctx.core.copy_object(
            (ctx.account, ctx.container, ctx.obj), (ctx.account, hidden, name), md, raw=True
        )
    except core_errors.ContainerNotFound:
        raise SwiftError(500, NO_HIDDEN) from None
    except core_errors.ObjectNotFound:
        pass  # gone meanwhile: nothing to keep


def kept(info: ObjectInfo) -> bool:
    """Whether the current object is a copy of its hidden entry (this layout)."""
    return bool(info.system.get(KEPT))


async def _keep_current(ctx: Ctx, state: State, method: str) -> bool:
    """Before a write: keep the current version when only the container holds it (stored
    before this layout, or while off: any, while on).

    The writer's rights are checked first, as Swift does before it reads.
    True when versioning is on (the write makes a version).
    """
    assert ctx.container is not None and state.hidden is not None
    await obj.authorize(ctx, ctx.account, ctx.container, method)
    current = await current_object(ctx)
    if current is None or kept(current):
        return state.enabled
    if state.enabled or vl.version_of(current) is not None:
        await _archive(ctx, state.hidden, current)
    return state.enabled


async def _make_current(ctx: Ctx, hidden: str, version: Timestamp, when: Timestamp) -> None:
    """Copy version ``version`` from the hidden container into the container, stamped
    ``when`` (its own time, as Swift's symlink: the nodes keep the newest write)."""
    assert ctx.container is not None and ctx.obj is not None
    src = (ctx.account, hidden, vn.entry_name(ctx.obj, version))
    info, body = await ctx.core.get_object(*src, raw=True, newest=True)
    system = {vl.VERSION: version.normal, KEPT: "1"}
    md = ObjectMetadata(system=system, delete_at=info.delete_at, timestamp=when)
    await ctx.core.copy_object(
        src, (ctx.account, ctx.container, ctx.obj), md, raw=True, source=(info, body)
    )


async def _put(ctx: Ctx, next: Next, state: State) -> web.StreamResponse:
    """A new version (while on): written into the hidden container under its own
    timestamp, then made current."""
    if state.enabled:
        # Swift checks the version's own name (longer than the object's) as it creates
        # it: refuse before anything is written, not on the next overwrite or delete.
        assert ctx.obj is not None
        check_object_name(vn.entry_name(ctx.obj, Timestamp.now()))
    if not await _keep_current(ctx, state, "PUT"):
        return await next(ctx)
    assert ctx.obj is not None and state.hidden is not None
    version = Timestamp.now()
    entry = (ctx.account, state.hidden, vn.entry_name(ctx.obj, version))

    def stamp(md: ObjectMetadata) -> ObjectMetadata:
        return dataclasses.replace(md, timestamp=version)

    def place(_path: tuple[str, str, str]) -> tuple[str, str, str]:
        return entry

    edits: list[Any] = ctx.environ.setdefault(obj.PUT_EDITS, [])
    places: list[Any] = ctx.environ.setdefault(obj.PUT_PLACE, [])
    edits.append(stamp)
    places.append(place)
    try:
        resp = await next(ctx)
    except core_errors.ContainerNotFound:
        raise SwiftError(500, NO_HIDDEN) from None
    finally:
        edits.remove(stamp)
        places.remove(place)
    if resp.status == 201 and not resp.prepared:
        await _make_current(ctx, state.hidden, version, version)
        resp.headers["X-Object-Version-Id"] = version.normal
    return resp


async def _delete(ctx: Ctx, next: Next, state: State) -> web.StreamResponse:
    """A delete marker in the hidden container (while on), then the current object goes
    with the marker's timestamp (a newer write, from anywhere, stays current)."""
    assert ctx.container is not None and ctx.obj is not None and state.hidden is not None
    if not await _keep_current(ctx, state, "DELETE"):
        return await next(ctx)
    marker = Timestamp.now()
    md = ObjectMetadata(content_type=vn.DELETE_MARKER, timestamp=marker)
    try:
        await ctx.core.put_object(
            ctx.account, state.hidden, vn.entry_name(ctx.obj, marker), b"", md
        )
    except core_errors.ContainerNotFound:
        raise SwiftError(412) from None
    headers = {"X-Object-Version-Id": marker.normal}
    try:
        await ctx.core.delete_object(ctx.account, ctx.container, ctx.obj, timestamp=marker)
    except core_errors.ObjectNotFound:
        raise SwiftError(404, headers=headers) from None
    except core_errors.Retained:
        raise
    except core_errors.Conflict:
        pass  # a newer write is current: the marker is kept as an older version
    return web.Response(status=204, headers={"Content-Type": HTML, **headers})


def _watch(ctx: Ctx, check: Callable[[ObjectInfo], None] | None = None) -> list[ObjectInfo]:
    """Remember the first object a GET/HEAD finds (``check`` may refuse it)."""
    seen: list[ObjectInfo] = []

    def hook(info: ObjectInfo) -> None:
        if not seen:
            seen.append(info)
            if check is not None:
                check(info)

    ctx.environ.setdefault(obj.INSPECT, []).append(hook)
    return seen


def _api_version(ctx: Ctx) -> str:
    return ctx.request.raw_path.split("/", 2)[1]


def _location(ctx: Ctx, version: str) -> str:
    assert ctx.container is not None and ctx.obj is not None
    path = quote(f"/{_api_version(ctx)}/{ctx.account}/{ctx.container}/{ctx.obj}")
    return f"{path}?version-id={version}"


def _current_headers(ctx: Ctx, resp: web.StreamResponse, info: ObjectInfo) -> None:
    """A current version's id and location; a restored one shows its own time."""
    version = vl.version_of(info)
    if version is None:
        return
    resp.headers["X-Object-Version-Id"] = version
    if resp.status < 300:
        resp.headers["Content-Location"] = _location(ctx, version)
    if version != info.timestamp.normal and "X-Timestamp" in resp.headers:
        ts = vl.timestamp_of(version)
        resp.headers["X-Timestamp"] = ts.normal
        resp.headers["Last-Modified"] = http_date(ts.seconds)


async def _read(ctx: Ctx, next: Next) -> web.StreamResponse:
    """GET/HEAD of the current version: its X-Object-Version-Id (``null`` when none)."""
    seen = _watch(ctx)

    def stamp(resp: web.StreamResponse) -> None:
        resp.headers["X-Object-Version-Id"] = vn.NULL
        if seen:
            _current_headers(ctx, resp, seen[0])

    ctx.on_prepare.append(stamp)
    return await next(ctx)


# --- ?version-id ----------------------------------------------------------------


def _not_found_if_versioned(info: ObjectInfo) -> None:
    if vl.version_of(info) is not None:
        raise SwiftError(404)


async def _read_null(ctx: Ctx, next: Next) -> web.StreamResponse:
    """``version-id=null``: the object unless it is a version (404)."""
    _watch(ctx, _not_found_if_versioned)

    def stamp(resp: web.StreamResponse) -> None:
        if resp.status < 300:
            resp.headers["X-Object-Version-Id"] = vn.NULL

    ctx.on_prepare.append(stamp)
    return await next(_with(ctx, params=_without_version(ctx)))


async def _read_version(
    ctx: Ctx, next: Next, hidden: str, version: Timestamp, vid: str
) -> web.StreamResponse:
    """GET/HEAD of one version: the current object if it is that one, else its entry."""
    assert ctx.container is not None and ctx.obj is not None
    # Versions are read with the hidden container's rights (the owners'), as in Swift.
    await obj.authorize(ctx, ctx.account, hidden, ctx.method)
    current = await current_object(ctx)
    if current is not None and vl.version_of(current) == version.normal:
        target = _with(ctx, params=_without_version(ctx))
        seen = _watch(target)

        def stamp_current(resp: web.StreamResponse) -> None:
            if seen:
                _current_headers(ctx, resp, seen[0])

        ctx.on_prepare.append(stamp_current)
        return await next(target)

    def refuse_marker(info: ObjectInfo) -> None:
        if info.content_type == vn.DELETE_MARKER:
            raise SwiftError(
                404, headers={"X-Object-Version-Id": vid, "Content-Type": vn.DELETE_MARKER}
            )

    target = _with(
        ctx, container=hidden, obj=vn.entry_name(ctx.obj, version), params=_without_version(ctx)
    )
    _watch(target, refuse_marker)

    def stamp(resp: web.StreamResponse) -> None:
        if resp.status < 300:
            resp.headers["X-Object-Version-Id"] = vid

    ctx.on_prepare.append(stamp)
    return await next(target)


async def _delete_version(
    ctx: Ctx, next: Next, state: State, version: Timestamp, vid: str
) -> web.StreamResponse:
    """DELETE ?version-id: that version only; the current one takes its object with it."""
    assert ctx.container is not None and ctx.obj is not None and state.hidden is not None
    current = await current_object(ctx)
    current_id = vl.version_of(current) if current is not None else None
    entry = vn.entry_name(ctx.obj, version)
    headers = {"X-Object-Version-Id": vid, "X-Object-Current-Version-Id": current_id or vn.NULL}

    def stamp(resp: web.StreamResponse) -> None:
        resp.headers.update(headers)

    if current_id == version.normal:
        headers["X-Object-Current-Version-Id"] = vn.NULL
        ctx.on_prepare.append(stamp)
        await obj.authorize(ctx, ctx.account, ctx.container, "DELETE")
        await obj.authorize(ctx, ctx.account, state.hidden, "DELETE")
        await ctx.core.delete_object(ctx.account, ctx.container, ctx.obj)
        with contextlib.suppress(core_errors.ObjectNotFound):  # restored: also kept there
            await ctx.core.delete_object(ctx.account, state.hidden, entry)
        return web.Response(status=204, headers={"Content-Type": HTML})
    ctx.on_prepare.append(stamp)
    return await next(_with(ctx, container=state.hidden, obj=entry, params=_without_version(ctx)))


async def _zero_body(ctx: Ctx) -> None:
    """A restore carries no body: 411 without a length, 400 with bytes."""
    length = ctx.content_length
    if length is None:
        if "chunked" not in ctx.headers.get("Transfer-Encoding", "").lower():
            raise SwiftError(411)
        has_body = bool(await ctx.request.content.read(1))
    else:
        has_body = length != 0
    if has_body:
        raise SwiftError(400, "PUT version-id requests require a zero byte body")


async def _restore(ctx: Ctx, state: State, version: Timestamp, vid: str) -> web.StreamResponse:
    """PUT ?version-id: that version becomes the current one again."""
    assert ctx.container is not None and ctx.obj is not None and state.hidden is not None
    await _zero_body(ctx)
    await obj.authorize(ctx, ctx.account, ctx.container, "PUT")
    entry = vn.entry_name(ctx.obj, version)
    try:
        source = await ctx.core.head_object(ctx.account, state.hidden, entry, raw=True)
    except core_errors.ObjectNotFound:
        if await ctx.core.container_info(ctx.account, state.hidden) is not None:
            raise SwiftError(404, "The specified version does not exist") from None
        raise SwiftError(500, NO_HIDDEN) from None
    current = await current_object(ctx)
    current_id = vl.version_of(current) if current is not None else None
    if (
        current is not None
        and not kept(current)
        and current_id is not None
        and current_id != version.normal
    ):
        await _archive(ctx, state.hidden, current)
    now = Timestamp.now()  # a new current object, as Swift's new symlink
    await _make_current(ctx, state.hidden, version, now)
    return web.Response(
        status=201,
        headers={
            "Etag": source.etag,
            "Last-Modified": http_date(now.seconds),
            "X-Object-Version-Id": vid,
            "Content-Type": HTML,
        },
    )


async def _with_version_id(ctx: Ctx, next: Next, state: State, vid: str) -> web.StreamResponse:
    """Swift's handle_request_with_version_id: its checks, in its order."""
    if ctx.method == "POST":
        raise SwiftError(400, "POST to a specific version is not allowed", content_type=HTML)
    if state.hidden is None and vid != vn.NULL:
        raise SwiftError(
            400,
            "version-aware operations require that the container is versioned",
            content_type=HTML,
        )
    version = vn.parse_version(vid) if vid != vn.NULL else None
    if (vid != vn.NULL or ctx.method == "PUT") and version is None:
        raise SwiftError(400, "Invalid version parameter", content_type=HTML)
    if ctx.method == "OPTIONS":
        return await next(ctx)
    if ctx.method == "DELETE":
        if version is None:
            return await _delete_null(ctx, next, state)
        return await _delete_version(ctx, next, state, version, vid)
    if ctx.method == "PUT":
        assert version is not None
        return await _restore(ctx, state, version, vid)
    if version is None:
        return await _read_null(ctx, next)
    assert state.hidden is not None
    return await _read_version(ctx, next, state.hidden, version, vid)


async def _delete_null(ctx: Ctx, next: Next, state: State) -> web.StreamResponse:
    """DELETE ?version-id=null: the current object (a version is kept, as Swift keeps it)."""
    assert ctx.container is not None
    inner = _with(ctx, params=_without_version(ctx))
    if state.hidden is not None:
        await obj.authorize(ctx, ctx.account, ctx.container, "DELETE")
        current = await current_object(ctx)
        if current is not None and not kept(current) and vl.version_of(current) is not None:
            await _archive(ctx, state.hidden, current)
    return await next(inner)


async def _object(ctx: Ctx, next: Next) -> web.StreamResponse:
    assert ctx.container is not None
    state = await _state(ctx, ctx.account, ctx.container)
    vid = ctx.params.get("version-id")
    if vid:
        return await _with_version_id(ctx, next, state, vid)
    if state.hidden is None:
        if ctx.method == "COPY":
            return await _copy(ctx, next)
        return await next(ctx)
    handler = _OBJECT.get(ctx.method)
    if handler is not None:
        return await handler(ctx, next, state)
    if ctx.method in ("GET", "HEAD", "OPTIONS"):
        return await _read(ctx, next)
    if ctx.method == "COPY":
        return await _copy(ctx, next)
    return await next(ctx)


async def _post(ctx: Ctx, next: Next, state: State) -> web.StreamResponse:
    """POST updates the current version's metadata: its copy here, then its version in
    the hidden container (which keeps it once another version is current)."""
    assert ctx.obj is not None and state.hidden is not None
    resp = await next(ctx)
    if resp.status >= 300:
        return resp
    current = await current_object(ctx)
    stamp = vn.parse_version(vl.version_of(current) or "") if current is not None else None
    if current is None or not kept(current) or stamp is None:
        return resp
    md = ObjectMetadata(
        content_type=current.content_type,
        user=current.user,
        attributes=current.attributes,
        delete_at=current.delete_at,
    )
    with contextlib.suppress(core_errors.ObjectNotFound):  # the version went meanwhile
        await ctx.core.post_object(ctx.account, state.hidden, vn.entry_name(ctx.obj, stamp), md)
    return resp


_OBJECT: dict[str, Callable[[Ctx, Next, State], Awaitable[web.StreamResponse]]] = {
    "PUT": _put,
    "DELETE": _delete,
    "POST": _post,
}


def copy_as_put(ctx: Ctx) -> Ctx | None:
    """A COPY as the PUT with X-Copy-From it stands for (Swift's copy middleware comes
    before versioning, which sees the PUT); None when Destination does not parse."""
    assert ctx.container is not None and ctx.obj is not None
    dest = ctx.headers.get("Destination")
    if not dest:
        return None
    cont, _, name = unquote(dest.strip()).lstrip("/").partition("/")
    if not cont or not name or cont.startswith(RESERVED):
        return None
    headers = CIMultiDict(ctx.headers)
    headers.popall("Destination", None)
    headers.popall("Destination-Account", None)
    headers["X-Copy-From"] = quote(f"/{ctx.container}/{ctx.obj}")
    headers["X-Copy-From-Account"] = quote(ctx.account)
    return _with(
        ctx,
        method="PUT",
        account=unquote(ctx.headers.get("Destination-Account", ctx.account)),
        container=cont,
        obj=name,
        headers=CIMultiDictProxy(headers),
    )


async def _copy(ctx: Ctx, next: Next) -> web.StreamResponse:
    """COPY into a versioned container makes a version there."""
    put = copy_as_put(ctx)
    if put is None:
        return await next(ctx)
    assert put.container is not None
    state = await _state(ctx, put.account, put.container)
    if state.hidden is None:
        return await next(ctx)
    return await _put(put, next, state)


# --- the filter -----------------------------------------------------------------


async def handle(ctx: Ctx, next: Next) -> web.StreamResponse:
    if ctx.container is None:
        if ctx.method == "GET":
            return await _list_account(ctx, next)
        return await next(ctx)
    if ctx.obj is None:
        if ctx.method in ("PUT", "POST") and CLIENT_HEADER in ctx.headers:
            return await _enable(ctx, next)
        if ctx.method == "DELETE":
            return await _delete_container(ctx, next)
        if ctx.method in ("GET", "HEAD"):
            return await _read_container(ctx, next)
        return await next(ctx)
    return await _object(ctx, next)


def info() -> dict[str, Any]:
    return {}


FEATURE = Feature("object_versioning", handle, info)
