"""Swift's ``account_quotas``: byte and object-count limits per account, set by the operator.

The limits are ``X-Account-Quota-Bytes`` and ``X-Account-Quota-Count``, and
per storage policy ``X-Account-Quota-Bytes-Policy-<name>`` and
``X-Account-Quota-Count-Policy-<name>`` (Stratus has the one policy
``Policy-0``); the older ``X-Account-Meta-Quota-Bytes`` sets the byte limit
too. Only the operator (Swift's reseller admin: an admin of the ``admin``
project) may set or remove them, with a POST of the account: anyone else
who sends one of these headers gets 403, the project's own admin included,
since a quota caps what that admin may store. A value that is not all
digits is a 400. They are kept as the account's system entries, never as
metadata the owner could change, and every account GET/HEAD shows them.

An object write (a PUT, a copy's destination) that would take the account
past a limit gets 413 ``Upload exceeds quota.`` (``Upload exceeds policy
quota.`` for a policy's), after the caller's own 401/403; the operator's
own writes are never limited. As in Swift, the size is the request's
Content-Length (a copy's: its source's size), so a chunked upload passes
while the account is within its quota, and account stats arrive by the
containers' asynchronous updates: a quota can be overshot by what was
written in the last moments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.swift import account, pipeline
from objectstore.proxy.swift.errors import SwiftError
from objectstore.proxy.swift.listing import POLICY_NAME
from objectstore.proxy.swift.upload import Upload, incoming, refuse

if TYPE_CHECKING:
    from objectstore.proxy.models import AccountInfo
    from objectstore.proxy.swift.app import Ctx

QUOTAS = ("Quota-Bytes", "Quota-Count")
POLICIES = ((0, POLICY_NAME),)  # (index, name) of each storage policy
LEGACY = ("X-Account-Meta-Quota-Bytes", "X-Remove-Account-Meta-Quota-Bytes")


async def handle(ctx: Ctx, next: pipeline.Next) -> web.StreamResponse:
    if ctx.container is None:
        if ctx.method in ("POST", "PUT"):
            _translate(ctx)
        ctx.on_prepare.append(lambda resp: _show(ctx, resp))
        return await next(ctx)
    upload = incoming(ctx)
    if upload is not None and not _reseller(ctx):
        await _enforce(ctx, upload)
    return await next(ctx)


def _reseller(ctx: Ctx) -> bool:
    return ctx.principal is not None and ctx.principal.is_reseller_admin


def _translate(ctx: Ctx) -> None:
    """Quota headers to the account's system entries (``account.SYSTEM``): the operator's
    alone (else 403), all digits (else 400); an empty value or X-Remove- removes."""
    headers = ctx.headers

    def given(name: str) -> str | None:
        value = headers.get(name)
        legacy = name.replace("-Account-", "-Account-Meta-")
        if legacy in LEGACY and not value and headers.get(legacy) is not None:
            return headers.get(legacy)  # the old form, unless the new one has a value
        return value

    wanted: dict[str, str | None] = {}
    for quota in QUOTAS:
        key = quota.lower()
        wanted[key] = "" if given(f"X-Remove-Account-{quota}") else given(f"X-Account-{quota}")
        for index, name in POLICIES:
            tail = f"Account-{quota}-Policy-{name}"
            removed = headers.get(f"X-Remove-{tail}")
            wanted[f"{key}-policy-{index}"] = "" if removed else headers.get(f"X-{tail}")
    asked = {k: v for k, v in wanted.items() if v is not None}
    if not asked:
        return
    if not _reseller(ctx):
        raise SwiftError(403)
    if any(v and not v.isdigit() for v in asked.values()):
        raise SwiftError(400)
    ctx.environ[account.SYSTEM] = {**ctx.environ.get(account.SYSTEM, {}), **asked}


def _show(ctx: Ctx, resp: web.StreamResponse) -> None:
    """Every account answer shows the quotas that are set (non-resellers may read them)."""
    info: AccountInfo | None = ctx.environ.get(account.INFO)
    if info is None:
        return
    for quota in QUOTAS:
        value = info.system.get(quota.lower())
        if value:
            resp.headers[f"X-Account-{quota}"] = value
    for index, name in POLICIES:
        for quota in QUOTAS:
            value = info.system.get(f"{quota.lower()}-policy-{index}")
            if value:
                resp.headers[f"X-Account-{quota}-Policy-{name}"] = value


def _limit(value: str | None) -> int:
    """Swift's reading of a stored quota: int() of it, -1 (none) when it is not a number."""
    try:
        return int(value) if value is not None else -1
    except ValueError:
        return -1


async def _enforce(ctx: Ctx, upload: Upload) -> None:
    """413 when the write would take the account past one of its quotas."""
    try:
        cached = await ctx.core.account_info(upload.account)
    except core_errors.InvalidInput:
        return  # an overlong name: the handler gives Swift's answer
    limits = _limits(cached.system, cached.user)
    if all(limit < 0 for limit in limits.values()):
        return
    length = await upload.length(ctx)
    if length is None:
        return  # the copy fails on its own
    now = await ctx.core.head_account(upload.account)
    # One storage policy: its stats are the account's.
    checks = (
        ("bytes", now.bytes_used + length, "Upload exceeds quota."),
        ("count", now.object_count + 1, "Upload exceeds quota."),
        ("policy-bytes", now.bytes_used + length, "Upload exceeds policy quota."),
        ("policy-count", now.object_count + 1, "Upload exceeds policy quota."),
    )
    for key, total, message in checks:
        if 0 <= limits[key] < total:
            raise await refuse(ctx, upload, message)


def _limits(system: Mapping[str, str], user: Mapping[str, str]) -> dict[str, int]:
    """The account's quotas (-1: none); the byte quota may still be in the old metadata."""
    return {
        "bytes": _limit(system.get("quota-bytes", user.get("quota-bytes"))),
        "count": _limit(system.get("quota-count")),
        "policy-bytes": _limit(system.get("quota-bytes-policy-0")),
        "policy-count": _limit(system.get("quota-count-policy-0")),
    }


FEATURE = pipeline.Feature("account_quotas", handle, lambda: {})
