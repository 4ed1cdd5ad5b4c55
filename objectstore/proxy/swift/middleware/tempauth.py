"""Where Swift's auth middleware sits: a bad token is refused here, not before.

The token is read when the request is parsed (``Ctx.principal``), but a bad
or expired one is only *noted* then (``AUTH_ERROR``): the filters before
this one in Swift's pipeline (bulk, TempURL, FormPost) see the request as
Swift's do, and a signed TempURL or form works whatever token came with it,
as in Swift, where tempurl removes the token before tempauth runs. From
here on a bad token is a 401.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.proxy.swift import auth
from objectstore.proxy.swift.pipeline import Feature, Next

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

#: ``ctx.environ`` key: the SwiftError (401) of the request's bad or expired token.
AUTH_ERROR = "stratus.auth_error"


async def handle(ctx: Ctx, next: Next) -> web.StreamResponse:
    error = ctx.environ.get(AUTH_ERROR)
    if error is not None and auth.SIGNED_SCOPE not in ctx.environ:
        raise error
    return await next(ctx)


def info() -> dict[str, Any]:
    """Swift's tempauth section (Stratus has no account-level ACLs)."""
    return {"account_acls": False}


FEATURE = Feature("tempauth", handle, info)
