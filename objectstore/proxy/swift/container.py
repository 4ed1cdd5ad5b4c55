"""Container requests: PUT, DELETE, HEAD, GET (listing), POST; ACLs and metadata.

Only the account's owner creates, changes and deletes containers, and of
the owner's roles only ``admin`` sets or removes ACLs (403 for ``member``);
a container's read ACL can open its listing (``.rlistings`` with a referrer
grant, or a named user) to others, who then do not see the ACLs themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from objectstore.proxy.conditional import http_date
from objectstore.proxy.models import ContainerInfo
from objectstore.proxy.swift import auth, cors
from objectstore.proxy.swift.constraints import (
    CONTAINER_LISTING_LIMIT,
    check_account_name,
    check_container_name,
    check_metadata,
    name_too_long,
)
from objectstore.proxy.swift.errors import SwiftError, status_response
from objectstore.proxy.swift.headers import (
    ACL_HEADERS,
    acl_entries,
    acl_headers,
    meta_headers,
    user_metadata,
)
from objectstore.proxy.swift.listing import (
    ROW_EDITS,
    list_params,
    listing_response,
    listing_type,
)

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

ALLOW = cors.ALLOW  # what Swift's 405 lists, OPTIONS included, in its order


async def dispatch(ctx: Ctx) -> web.StreamResponse:
    """Authorize, then run the method's handler.

    As in Swift, an overlong container name is refused (400) by PUT alone,
    after authorization; no container can have one, so others get 404.
    """
    check_account_name(ctx.account)
    assert ctx.container is not None
    handler = HANDLERS.get(ctx.method)
    if handler is None:
        raise SwiftError(405, headers={"Allow": ALLOW})
    access = auth.owner_access(ctx.principal, ctx.account)
    too_long = name_too_long(ctx.container)
    if access is not None:
        access = auth.check_owner(access, ctx.principal, ctx.method)
    elif too_long:
        raise auth.deny(ctx.principal)  # no container, no ACL that grants anything
    elif ctx.method in ("GET", "HEAD"):
        info = await ctx.core.container_info(ctx.account, ctx.container)
        access = auth.acl_access(
            ctx.principal, info, ctx.method, obj=False, referer=ctx.headers.get("Referer")
        )
    else:
        raise auth.deny(ctx.principal)
    if too_long:
        if ctx.method == "PUT":
            check_container_name(ctx.container)
        raise SwiftError(404)
    return await handler(ctx, access)


def container_headers(info: ContainerInfo, owner: bool) -> dict[str, str]:
    headers = {
        "X-Container-Object-Count": str(info.object_count),
        "X-Container-Bytes-Used": str(info.bytes_used),
        "X-Storage-Policy": "Policy-0",
        "Accept-Ranges": "bytes",
    }
    if info.timestamp is not None:
        headers["X-Timestamp"] = info.timestamp.normal
        headers["X-Put-Timestamp"] = info.timestamp.normal
        headers["Last-Modified"] = http_date(info.timestamp.seconds)
    headers.update(meta_headers(info.user, "container"))
    if owner:
        headers.update(acl_headers(info.system))
    return headers


async def handle_get(ctx: Ctx, access: auth.Access) -> web.StreamResponse:
    """GET lists objects; HEAD gives stats, metadata and (to owners) ACLs."""
    assert ctx.container is not None
    media = listing_type(ctx.params.get("format"), ctx.headers.get("Accept"))
    vary = "format" not in ctx.params
    if ctx.method == "HEAD":
        info = await ctx.core.head_container(ctx.account, ctx.container)
        headers = container_headers(info, access.owner)
        return listing_response("HEAD", media, [], ctx.container, "container", headers, vary=vary)
    params = list_params(ctx.params, CONTAINER_LISTING_LIMIT, allow_path=True)
    info, rows = await ctx.core.list_objects(ctx.account, ctx.container, params)
    headers = container_headers(info, access.owner)
    edits = ctx.environ.get(ROW_EDITS, ())
    return listing_response(
        "GET", media, rows, ctx.container, "container", headers, vary=vary, edits=edits
    )


def _changes(ctx: Ctx, access: auth.Access) -> tuple[dict[str, str], dict[str, str]]:
    if not access.admin and any(
        name in ctx.headers or f"x-remove-{name[2:]}" in ctx.headers for name, _key in ACL_HEADERS
    ):
        raise SwiftError(403, "Only the project's admin may change container ACLs.")
    check_metadata(ctx.headers, "container")
    return user_metadata(ctx.headers, "container", removals=True), acl_entries(ctx.headers)


async def handle_put(ctx: Ctx, access: auth.Access) -> web.StreamResponse:
    """201 when created, 202 when it existed (its metadata is merged)."""
    assert ctx.container is not None
    user, system = _changes(ctx, access)
    created = await ctx.core.put_container(ctx.account, ctx.container, user=user, system=system)
    return status_response(201 if created else 202)


async def handle_post(ctx: Ctx, access: auth.Access) -> web.StreamResponse:
    assert ctx.container is not None
    user, system = _changes(ctx, access)
    await ctx.core.post_container(ctx.account, ctx.container, user=user, system=system)
    return status_response(204)


async def handle_delete(ctx: Ctx, access: auth.Access) -> web.StreamResponse:
    """204; 409 while objects remain; 404 when there is no such container."""
    assert ctx.container is not None
    await ctx.core.delete_container(ctx.account, ctx.container)
    return status_response(204)


HANDLERS = {
    "GET": handle_get,
    "HEAD": handle_get,
    "PUT": handle_put,
    "POST": handle_post,
    "DELETE": handle_delete,
}
