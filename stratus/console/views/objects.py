"""Objects: containers with their counts and bytes, folders, uploads, downloads, sharing.

Everything goes through the native (Swift) API with the user's token; share
links are S3 presigned URLs signed with the user's own S3 credential (see
:func:`_share_secret`). Listings are read a page at a time (``limit`` +
``marker``, folders by ``prefix`` + ``delimiter``), so a container of
millions of objects is never loaded whole.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from stratus.console.auth import IDENTITY, Forbidden, Viewer, page, viewer
from stratus.console.presign import presign_get
from stratus.console.s3client import S3Client
from stratus.console.services import ACL_PUBLIC, SERVICES, ContainerRow, ServiceError, SwiftClient
from stratus.console.templating import NavEntry, add_nav, fragment, query, render
from stratus.identity.errors import NotFound

PAGE_SIZES = (50, 100, 200, 500, 1000)
DEFAULT_PAGE = 100
TEXT_PREVIEW = 64 * 1024
# Shown in the page from the console's own origin: raster images only (an SVG can carry script).
IMAGE_TYPES = frozenset(("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"))
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-yaml")
EXPIRY_CHOICES = ((900, "15 minutes"), (3600, "1 hour"), (86400, "1 day"), (604800, "7 days"))
MAX_META = 90  # Swift's limit on metadata items


def swift(request: web.Request) -> SwiftClient:
    """The native API as the viewer, in its project's account."""
    who = viewer(request)
    return SwiftClient(request.app[SERVICES], who.session.token, who.principal.account)


def _container(request: web.Request) -> str:
    name = request.match_info["container"]
    if not name or "/" in name or len(name.encode()) > 256:
        raise web.HTTPBadRequest(text="not a container name")
    return name


def _object_name(value: Any) -> str:
    name = value if isinstance(value, str) else ""
    if not name or len(name.encode()) > 1024 or "\x00" in name:
        raise web.HTTPBadRequest(text="not an object name")
    return name


def _container_url(container: str, **params: Any) -> str:
    return f"/objects/c/{quote(container, safe='')}" + query(**params)


# -- containers ---------------------------------------------------------------------------


# Where the S3 API keeps the parts of a bucket's multipart objects (s3compat.segments).
SEGMENTS_SUFFIX = "+segments"


def fold_segments(rows: list[ContainerRow]) -> list[ContainerRow]:
    """Each ``<name>+segments`` container counted in ``<name>``'s bytes, not listed alone.

    A multipart object is a small manifest in its container and its parts in the
    segments container: people think of one object of the whole size.
    """
    names = {r.name for r in rows}
    extra: dict[str, int] = {}
    for r in rows:
        if r.name.endswith(SEGMENTS_SUFFIX) and r.name[: -len(SEGMENTS_SUFFIX)] in names:
            extra[r.name[: -len(SEGMENTS_SUFFIX)]] = r.bytes
    return [
        ContainerRow(r.name, r.count, r.bytes + extra.get(r.name, 0))
        for r in rows
        if not (r.name.endswith(SEGMENTS_SUFFIX) and r.name[: -len(SEGMENTS_SUFFIX)] in names)
    ]


@page("reader")
async def containers(request: web.Request) -> web.StreamResponse:
    headers, rows = await swift(request).account()
    shown = fold_segments(rows)
    return render(
        request,
        "objects/containers.html",
        containers=shown,
        total_count=sum(r.count for r in shown),
        total_bytes=int(headers.get("X-Account-Bytes-Used", 0)),
        url=_container_url,
    )


@page("member")
async def create_container(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("name", "")).strip()
    if not name or "/" in name or len(name.encode()) > 256:
        viewer(request).session.flash("A container name is 1-256 bytes, without '/'.", "error")
        raise web.HTTPSeeOther("/objects")
    await swift(request).create_container(name)
    viewer(request).session.flash(f"Container {name} created.")
    raise web.HTTPSeeOther(_container_url(name))


@page("member")
async def delete_container(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    try:
        await swift(request).delete_container(name)
    except ServiceError as exc:
        if exc.status != 409:
            raise
        viewer(request).session.flash(f"{name} is not empty: delete its objects first.", "error")
        raise web.HTTPSeeOther(_container_url(name)) from None
    viewer(request).session.flash(f"Container {name} deleted.")
    raise web.HTTPSeeOther("/objects")


@page("admin")
async def set_access(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    form = await request.post()
    public = form.get("public") == "1"
    await swift(request).set_public(name, public)
    viewer(request).session.flash(f"{name} is now {'public' if public else 'private'}.")
    raise web.HTTPSeeOther(_container_url(name))


# -- browsing -----------------------------------------------------------------------------


def _listing_args(request: web.Request) -> dict[str, Any]:
    q = request.query
    try:
        limit = int(q.get("limit", DEFAULT_PAGE))
    except ValueError:
        limit = DEFAULT_PAGE
    return {
        "prefix": q.get("prefix", ""),
        "marker": q.get("marker", ""),
        "limit": limit if limit in PAGE_SIZES else DEFAULT_PAGE,
        "order": "desc" if q.get("order") == "desc" else "asc",
    }


def _crumbs(prefix: str) -> list[tuple[str, str]]:
    """(label, prefix) of each folder above and including ``prefix``."""
    out, acc = [], ""
    for part in prefix.split("/")[:-1] if prefix.endswith("/") else prefix.split("/"):
        if not part:
            continue
        acc += part + "/"
        out.append((part, acc))
    return out


@page("reader")
async def browse(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    args = _listing_args(request)
    client = swift(request)
    listing = await client.list_objects(
        name,
        prefix=args["prefix"],
        marker=args["marker"],
        limit=args["limit"],
        reverse=args["order"] == "desc",
    )
    ctx = {"container": name, "listing": listing, "args": args, "url": _container_url}
    if request.headers.get("HX-Request"):  # "load more": the next rows only
        return web.Response(
            text=fragment(request, "objects/_rows.html", **ctx), content_type="text/html"
        )
    info = await client.container(name)
    read_acl = info.get("X-Container-Read", "")
    extras = await _s3_extras(request, name, None)
    parts_bytes = 0
    if not name.endswith(SEGMENTS_SUFFIX):
        try:
            parts = await client.container(name + SEGMENTS_SUFFIX)
            parts_bytes = int(parts.get("X-Container-Bytes-Used", 0))
        except ServiceError:
            parts_bytes = 0
    return render(
        request,
        "objects/container.html",
        crumbs=_crumbs(args["prefix"]),
        public=ACL_PUBLIC.split(",")[0] in read_acl.split(","),
        count=int(info.get("X-Container-Object-Count", 0)),
        bytes_used=int(info.get("X-Container-Bytes-Used", 0)) + parts_bytes,
        page_sizes=PAGE_SIZES,
        versioning=extras["versioning"],
        has_s3=extras["s3"],
        **ctx,
    )


# -- objects ------------------------------------------------------------------------------


@page("member")
async def upload(request: web.Request) -> web.StreamResponse:
    """PUT the request body into an object, streaming (the browser shows the progress)."""
    name = _container(request)
    obj = _object_name(request.query.get("path"))
    length = request.content_length
    if length is None:
        raise web.HTTPLengthRequired(text="uploads need a Content-Length")
    ctype = request.headers.get("Content-Type") or "application/octet-stream"
    body = request.content.iter_chunked(1 << 20)
    versioned = await _versioned(request, name)
    if versioned is not None:
        await versioned.put_object(name, obj, body, length, ctype)
        return web.json_response({"name": obj, "bytes": length, "versioned": True})
    etag = await swift(request).put_object(name, obj, body, length, ctype)
    return web.json_response({"name": obj, "bytes": length, "etag": etag.strip('"')})


# -- segmented (multipart) uploads: large files in parts, resumable after a reload -------


def _multipart(request: web.Request) -> tuple[str, str, str, S3Client]:
    """(container, object, upload id, S3 client) of a multipart request."""
    name = _container(request)
    obj = _object_name(request.query.get("path"))
    upload_id = request.query.get("upload_id", "")
    client = s3(request)
    if client is None:
        raise Forbidden("large uploads go through S3, and you have no S3 credential")
    if len(upload_id) > 256:
        raise web.HTTPBadRequest(text="not an upload id")
    return name, obj, upload_id, client


@page("member")
async def multipart_start(request: web.Request) -> web.StreamResponse:
    name, obj, _, client = _multipart(request)
    ctype = request.query.get("type") or "application/octet-stream"
    upload_id = await client.start_multipart(name, obj, ctype)
    return web.json_response({"upload_id": upload_id})


@page("member")
async def multipart_parts(request: web.Request) -> web.StreamResponse:
    """The parts already stored: what a resumed upload skips."""
    name, obj, upload_id, client = _multipart(request)
    parts = await client.list_parts(name, obj, upload_id)
    return web.json_response(
        {"parts": [{"n": n, "size": size, "etag": etag} for n, size, etag in parts]}
    )


@page("member")
async def multipart_part(request: web.Request) -> web.StreamResponse:
    name, obj, upload_id, client = _multipart(request)
    try:
        number = int(request.query.get("n", ""))
    except ValueError:
        number = 0
    length = request.content_length
    if not 1 <= number <= 10_000 or length is None:
        raise web.HTTPBadRequest(text="a part needs a number (1-10000) and a Content-Length")
    body = request.content.iter_chunked(1 << 20)
    etag = await client.upload_part(name, obj, upload_id, number, body, length)
    return web.json_response({"n": number, "etag": etag})


@page("member")
async def multipart_complete(request: web.Request) -> web.StreamResponse:
    name, obj, upload_id, client = _multipart(request)
    parts = await client.list_parts(name, obj, upload_id)
    await client.complete_multipart(name, obj, upload_id, [(n, etag) for n, _, etag in parts])
    return web.json_response({"name": obj, "bytes": sum(size for _, size, _ in parts)})


async def _versioned(request: web.Request, name: str) -> S3Client | None:
    """The S3 client when ``name`` keeps versions: writes and deletes must go through S3.

    The native API does not keep versions; through it an upload would replace
    the current version and a delete would remove it, unkept.
    """
    client = s3(request)
    if client is None:
        return None
    try:
        return client if await client.versioning(name) else None
    except ServiceError:
        return None


@page("member")
async def delete_objects(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    form = await request.post()
    names = [n for n in form.getall("name", []) if isinstance(n, str) and n]
    native, signed = swift(request), s3(request)
    gone, failed = 0, []
    for obj in names[:1000]:
        try:
            await _delete_one(native, signed, name, _object_name(obj))
            gone += 1
        except ServiceError as exc:
            if exc.status in (401, 403):
                raise
            failed.append(obj)
    session = viewer(request).session
    session.flash(f"Deleted {gone} object{'s' if gone != 1 else ''}.")
    if failed:
        session.flash(f"Could not delete: {', '.join(failed[:10])}", "error")
    raise web.HTTPSeeOther(_container_url(name, prefix=str(form.get("prefix", ""))))


async def _delete_one(native: SwiftClient, signed: S3Client | None, name: str, obj: str) -> None:
    """Delete through S3 when the user can: it also removes a multipart object's parts,
    and in a versioned container leaves a delete marker instead of losing the data.
    A container S3 cannot name (400) is deleted from through the native API."""
    if signed is not None:
        try:
            await signed.delete_object(name, obj)
            return
        except ServiceError as exc:
            if exc.status != 400:
                raise
    await native.delete_object(name, obj)


def _user_meta(headers: dict[str, str]) -> dict[str, str]:
    pre = "x-object-meta-"
    return {k[len(pre) :]: v for k, v in headers.items() if k.lower().startswith(pre)}


def _previewable(ctype: str, size: int) -> str:
    base = ctype.split(";")[0].strip().lower()
    if base in IMAGE_TYPES and size <= 50 * 1024 * 1024:
        return "image"
    if base.startswith(TEXT_TYPES):
        return "text"
    return ""


async def _object_page(
    request: web.Request, name: str, obj: str, share_url: str = ""
) -> web.Response:
    client = swift(request)
    headers = await client.head_object(name, obj)
    ctype = headers.get("Content-Type", "application/octet-stream")
    size = int(headers.get("Content-Length", 0))
    kind = _previewable(ctype, size)
    text = None
    if kind == "text" and size:
        async with client.get_object(name, obj, {"Range": f"bytes=0-{TEXT_PREVIEW - 1}"}) as resp:
            text = (await resp.content.read(TEXT_PREVIEW)).decode("utf-8", "replace")
    info = await client.container(name)
    public = ACL_PUBLIC.split(",")[0] in info.get("X-Container-Read", "").split(",")
    folder = obj.rsplit("/", 1)[0] + "/" if "/" in obj else ""
    extras = await _s3_extras(request, name, obj)
    return render(
        request,
        "objects/object.html",
        container=name,
        obj=obj,
        folder=folder,
        props=headers,
        ctype=ctype,
        size=size,
        meta=_user_meta(headers),
        preview=kind,
        text=text,
        truncated=text is not None and size > TEXT_PREVIEW,
        public_url=client.url(name, obj) if public else "",
        share_url=share_url,
        expiry_choices=EXPIRY_CHOICES,
        url=_container_url,
        quote=quote,
        **extras,
    )


@page("reader")
async def show_object(request: web.Request) -> web.StreamResponse:
    return await _object_page(request, _container(request), _object_name(request.query.get("path")))


@page("reader")
async def download(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    obj = _object_name(request.query.get("path"))
    async with swift(request).get_object(name, obj) as upstream:
        ctype = upstream.headers.get("Content-Type", "application/octet-stream")
        inline = request.query.get("inline") == "1" and ctype.split(";")[0] in IMAGE_TYPES
        filename = quote(obj.rsplit("/", 1)[-1], safe="")
        resp = web.StreamResponse(
            headers={
                "Content-Type": ctype if inline else "application/octet-stream",
                "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
                f"filename*=UTF-8''{filename}",
                "Content-Security-Policy": "sandbox; default-src 'none'",
                "ETag": upstream.headers.get("ETag", ""),
            }
        )
        if upstream.content_length is not None:
            resp.content_length = upstream.content_length
        await resp.prepare(request)
        async for chunk in upstream.content.iter_chunked(1 << 20):
            await resp.write(chunk)
        await resp.write_eof()
        return resp


@page("member")
async def set_metadata(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    form = await request.post()
    obj = _object_name(form.get("path"))
    keys, values = form.getall("meta_key", []), form.getall("meta_value", [])
    meta: dict[str, str] = {}
    for k, v in zip(keys, values, strict=False):
        k, v = str(k).strip(), str(v).strip()
        if not k:
            continue
        if not all(c.isalnum() or c in "-_" for c in k) or len(k) > 128 or len(v) > 256:
            viewer(request).session.flash(
                f"Metadata key {k[:40]!r}: letters, digits, '-' and '_' only (value up to 256).",
                "error",
            )
            raise web.HTTPSeeOther(_object_url(name, obj))
        meta[k] = v
    ctype = str(form.get("content_type", "")).strip() or "application/octet-stream"
    await swift(request).set_metadata(name, obj, dict(list(meta.items())[:MAX_META]), ctype)
    viewer(request).session.flash("Metadata saved.")
    raise web.HTTPSeeOther(_object_url(name, obj))


def _share_secret(request: web.Request, who: Viewer) -> tuple[str, str] | None:
    """The (access key, secret) that signs the viewer's share links, if it has one.

    The login's own S3 key when the user logged in with one, else the user's
    newest S3 credential. The console never creates one: deleting a
    credential must be enough to revoke every link it signed.
    """
    store = request.app[IDENTITY]
    candidates = [who.session.access_key] if who.session.access_key else []
    creds = store.list_credentials(who.principal.project, who.principal.user)
    candidates += [c.access for c in sorted(creds, key=lambda c: c.created, reverse=True)]
    for access in candidates:
        try:
            secret, _ = store.lookup_credential(access)
        except NotFound:
            continue
        return access, secret
    return None


def s3(request: web.Request) -> S3Client | None:
    """The S3 API as the viewer (versions, tags), if the viewer has an S3 credential."""
    pair = _share_secret(request, viewer(request))
    return None if pair is None else S3Client(request.app[SERVICES], *pair)


async def _s3_extras(request: web.Request, name: str, obj: str | None) -> dict[str, Any]:
    """Versioning status, and the object's versions and tags, when S3 can tell them."""
    client = s3(request)
    out: dict[str, Any] = {"s3": client is not None, "versioning": "", "versions": [], "tags": []}
    if client is None:
        return out
    try:
        out["versioning"] = await client.versioning(name)
        if obj is not None:
            out["tags"] = await client.tags(name, obj)
            if out["versioning"]:
                out["versions"] = await client.versions(name, obj)
    except ServiceError as exc:
        if exc.status in (400, 404):  # a container name S3 does not accept: no S3 features
            out["s3"] = False
        elif exc.status not in (401, 403):
            raise
    return out


def _object_url(name: str, obj: str) -> str:
    return _container_url(name) + "/object" + query(path=obj)


@page("member")
async def set_versioning(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    form = await request.post()
    client = s3(request)
    if client is None:
        raise Forbidden("versioning is set through S3, and you have no S3 credential")
    enabled = form.get("enabled") == "1"
    await client.set_versioning(name, enabled)
    viewer(request).session.flash(f"Versioning {'on' if enabled else 'suspended'} for {name}.")
    raise web.HTTPSeeOther(_container_url(name))


@page("member")
async def restore_version(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    form = await request.post()
    obj = _object_name(form.get("path"))
    version = str(form.get("version", ""))
    client = s3(request)
    if client is None or not version or len(version) > 256:
        raise web.HTTPBadRequest(text="no such version")
    await client.restore(name, obj, version)
    viewer(request).session.flash("That version is the current one again.")
    raise web.HTTPSeeOther(_object_url(name, obj))


@page("member")
async def set_tags(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    form = await request.post()
    obj = _object_name(form.get("path"))
    client = s3(request)
    if client is None:
        raise Forbidden("tags are kept through S3, and you have no S3 credential")
    pairs = [
        (str(k).strip(), str(v).strip())
        for k, v in zip(form.getall("tag_key", []), form.getall("tag_value", []), strict=False)
        if str(k).strip()
    ]
    try:
        await client.set_tags(name, obj, pairs[:10])
    except ServiceError as exc:
        if exc.status != 400:
            raise
        viewer(request).session.flash(f"Tags refused: {exc.message}", "error")
    else:
        viewer(request).session.flash("Tags saved.")
    raise web.HTTPSeeOther(_object_url(name, obj))


@page("reader")
async def share(request: web.Request) -> web.StreamResponse:
    name = _container(request)
    form = await request.post()
    obj = _object_name(form.get("path"))
    try:
        expires = int(str(form.get("expires", "3600")))
    except ValueError:
        expires = 3600
    if expires not in dict(EXPIRY_CHOICES):
        expires = 3600
    who = viewer(request)
    await swift(request).head_object(name, obj)  # the user may read it, and it exists
    pair = _share_secret(request, who)
    if pair is None:
        who.session.flash(
            "Share links are signed with your S3 credential and you have none: ask an "
            f"administrator (`stratus credentials create --user {who.principal.name}`).",
            "error",
        )
        return await _object_page(request, name, obj)
    services = request.app[SERVICES]
    url = presign_get(
        services.endpoints.s3,
        name,
        obj,
        access=pair[0],
        secret=pair[1],
        region=services.endpoints.s3_region,
        expires=expires,
    )
    if request.headers.get("HX-Request"):
        return web.Response(
            text=fragment(request, "objects/_share.html", share_url=url), content_type="text/html"
        )
    return await _object_page(request, name, obj, share_url=url)


def setup(app: web.Application) -> None:
    """Routes and the navigation entry of the Objects section."""
    add_nav(app, NavEntry("Objects", "/objects"))
    r = app.router
    r.add_get("/objects", containers)
    r.add_post("/objects", create_container)
    r.add_get("/objects/c/{container}", browse)
    r.add_post("/objects/c/{container}/delete-container", delete_container)
    r.add_post("/objects/c/{container}/access", set_access)
    r.add_put("/objects/c/{container}/upload", upload)
    r.add_post("/objects/c/{container}/delete", delete_objects)
    r.add_get("/objects/c/{container}/object", show_object)
    r.add_get("/objects/c/{container}/download", download)
    r.add_post("/objects/c/{container}/meta", set_metadata)
    r.add_post("/objects/c/{container}/share", share)
    r.add_post("/objects/c/{container}/versioning", set_versioning)
    r.add_post("/objects/c/{container}/restore", restore_version)
    r.add_post("/objects/c/{container}/tags", set_tags)
    r.add_post("/objects/c/{container}/multipart/start", multipart_start)
    r.add_get("/objects/c/{container}/multipart/parts", multipart_parts)
    r.add_put("/objects/c/{container}/multipart/part", multipart_part)
    r.add_post("/objects/c/{container}/multipart/complete", multipart_complete)
