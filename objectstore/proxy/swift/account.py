"""Account requests: HEAD and GET (stats, metadata, container listing), POST (metadata).

Accounts come into being with their first container (Swift's
account_autocreate), so an account never written answers HEAD and GET with
zeros. PUT and DELETE of accounts are not offered (Swift's default,
``allow_account_management = false``): 405.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from objectstore.proxy.models import AccountInfo
from objectstore.proxy.swift import auth, cors
from objectstore.proxy.swift.constraints import (
    ACCOUNT_LISTING_LIMIT,
    check_account_name,
    check_metadata,
)
from objectstore.proxy.swift.errors import SwiftError
from objectstore.proxy.swift.headers import meta_headers, user_metadata
from objectstore.proxy.swift.listing import list_params, listing_response, listing_type
from objectstore.timestamp import Timestamp

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

ALLOW = cors.ALLOW  # what Swift's 405 lists, OPTIONS included, in its order
# ctx.environ keys for the filters: system entries a POST stores with the user metadata
# (account quotas), and the AccountInfo a GET/HEAD answered from (to show those entries).
SYSTEM = "stratus.account.system"
INFO = "stratus.account.info"
# ROWS: ``async fn(params, rows) -> rows`` changes a GET's container rows before they are
# rendered (object versioning folds its hidden containers into their parents).
ROWS = "stratus.account.rows"


async def dispatch(ctx: Ctx) -> web.StreamResponse:
    check_account_name(ctx.account)
    if ctx.method in ("PUT", "DELETE"):
        raise SwiftError(405, headers={"Allow": ALLOW})
    handler = HANDLERS.get(ctx.method)
    if handler is None:
        raise SwiftError(405, headers={"Allow": ALLOW})
    auth.check_owner(auth.owner_access(ctx.principal, ctx.account), ctx.principal, ctx.method)
    return await handler(ctx)


def account_headers(info: AccountInfo) -> dict[str, str]:
    ts = info.timestamp or Timestamp.now()
    headers = {
        "X-Account-Container-Count": str(info.container_count),
        "X-Account-Object-Count": str(info.object_count),
        "X-Account-Bytes-Used": str(info.bytes_used),
        "X-Timestamp": ts.normal,
        "X-Put-Timestamp": ts.normal,
        "Accept-Ranges": "bytes",  # as Swift's account server sends it
    }
    headers.update(meta_headers(info.user, "account"))
    return headers


async def handle_get(ctx: Ctx) -> web.StreamResponse:
    """GET lists containers; HEAD gives the stats alone."""
    media = listing_type(ctx.params.get("format"), ctx.headers.get("Accept"))
    vary = "format" not in ctx.params
    if ctx.method == "HEAD":
        info = ctx.environ[INFO] = await ctx.core.head_account(ctx.account)
        headers = account_headers(info)
        return listing_response("HEAD", media, [], ctx.account, "account", headers, vary=vary)
    params = list_params(ctx.params, ACCOUNT_LISTING_LIMIT, allow_path=False)
    info, rows = await ctx.core.list_containers(ctx.account, params)
    ctx.environ[INFO] = info
    for edit in ctx.environ.get(ROWS, ()):
        rows = await edit(params, rows)
    headers = account_headers(info)
    return listing_response("GET", media, rows, ctx.account, "account", headers, vary=vary)


async def handle_post(ctx: Ctx) -> web.StreamResponse:
    """Set or remove X-Account-Meta-* (an empty value or X-Remove-... removes)."""
    check_metadata(ctx.headers, "account")
    user = user_metadata(ctx.headers, "account", removals=True)
    await ctx.core.post_account(ctx.account, user=user, system=ctx.environ.get(SYSTEM))
    return web.Response(status=204, headers={"Content-Type": "text/html; charset=UTF-8"})


HANDLERS = {"GET": handle_get, "HEAD": handle_get, "POST": handle_post}
