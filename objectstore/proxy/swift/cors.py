"""CORS as Swift's proxy server does it: preflight ``OPTIONS`` and headers on actual requests.

Swift keeps CORS in its proxy controllers, not in a middleware: ``OPTIONS``
answers 200 with ``Allow`` (a preflight, one with ``Origin``, also gets the
``Access-Control-Allow-*`` headers, or 401 when the container's
``X-Container-Meta-Access-Control-Allow-Origin`` does not name the origin or
the requested method is not one of the controller's), and the container and
object methods (``cors_validation``) stamp ``Access-Control-Allow-Origin`` and
``Access-Control-Expose-Headers`` on whatever they answer, errors included,
when the origin is allowed (``strict_cors_mode``, on in Swift and here).
Answers of the filters before the controllers (a copy's 412, a bad token's
401) get none, as in Swift: ``begin`` runs at the end of the pipeline.

The container's CORS settings are read before the request runs, as Swift reads
its container info: a request that changes them is answered under the old ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.swift.errors import HTML, SwiftError, html_body, reason

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx
    from stratus.config import ProxySection

#: The methods of Swift's account, container and object controllers, in the order its
#: ``Allow`` lists them; the copy filter adds COPY to a successful object OPTIONS.
ALLOWED_METHODS = ("DELETE", "OPTIONS", "GET", "HEAD", "PUT", "POST")
ALLOW = ", ".join(ALLOWED_METHODS)
#: The methods Swift wraps in ``cors_validation`` (COPY is a PUT by then).
VALIDATED = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "COPY"})
#: Always exposed: the simple response headers, and Swift's own.
EXPOSE_ALWAYS: tuple[str, ...] = (
    "cache-control",
    "content-language",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
    "etag",
    "x-timestamp",
    "x-trans-id",
    "x-openstack-request-id",
)
_META = ("x-container-meta-", "x-object-meta-")
UNSTAMPED = "stratus.cors.unstamped"  # ctx.environ: the answer is a pre-proxy filter's


@dataclass(frozen=True)
class Policy:
    """The proxy-wide options (``[proxy]``, Swift's names): origins allowed everywhere,
    headers exposed everywhere, and ``strict_cors_mode`` (published in /info: a request
    from an origin not allowed gets no CORS headers at all)."""

    allow_origin: frozenset[str] = frozenset()
    expose_headers: tuple[str, ...] = ()
    strict: bool = True

    @classmethod
    def from_config(cls, proxy: ProxySection) -> Policy:
        def items(csv: str) -> list[str]:
            return [v.strip() for v in csv.split(",") if v.strip()]

        return cls(
            frozenset(items(proxy.cors_allow_origin)),
            tuple(h.lower() for h in items(proxy.cors_expose_headers)),
            proxy.strict_cors_mode,
        )


POLICY: web.AppKey[Policy] = web.AppKey("cors_policy", Policy)


@dataclass(frozen=True)
class Rules:
    """A container's CORS settings (``X-Container-Meta-Access-Control-*``)."""

    allow_origin: str | None = None
    expose_headers: str | None = None
    max_age: str | None = None

    @classmethod
    def from_meta(cls, user: Mapping[str, str] | None) -> Rules:
        meta = user or {}
        return cls(
            meta.get("access-control-allow-origin"),
            meta.get("access-control-expose-headers"),
            meta.get("access-control-max-age"),
        )

    @property
    def any_origin(self) -> bool:
        return bool(self.allow_origin) and (self.allow_origin or "").strip() == "*"

    def allows(self, origin: str, policy: Policy) -> bool:
        """Swift's ``is_origin_allowed``: the origin is listed (space-separated, or by the
        proxy's ``cors_allow_origin``), or ``*`` is."""
        allowed = set((self.allow_origin or "").split()) | policy.allow_origin
        return origin in allowed or "*" in allowed


def policy_of(ctx: Ctx) -> Policy:
    return ctx.request.app.get(POLICY) or Policy()


async def rules_of(ctx: Ctx) -> Rules:
    """The request's container's rules (none for a missing or unnamable container)."""
    if ctx.container is None:
        return Rules()
    try:
        info = await ctx.core.container_info(ctx.account, ctx.container)
    except (core_errors.ProxyError, SwiftError):
        return Rules()
    return Rules.from_meta(info.user if info is not None else None)


async def preflight(ctx: Ctx) -> web.Response:
    """``OPTIONS``: the controller's methods, and for an ``Origin`` the CORS answer."""
    obj = ctx.obj is not None
    origin = ctx.headers.get("Origin")
    if not origin or ctx.container is None:  # Swift has no CORS for the account itself
        return _with_copy(obj, 200, {"Allow": ALLOW, "Content-Type": HTML})
    rules = await rules_of(ctx)
    if not rules.allows(origin, policy_of(ctx)) or ctx.headers.get(
        "Access-Control-Request-Method"
    ) not in (ALLOWED_METHODS):
        return web.Response(
            status=401,
            reason=reason(401),
            body=html_body(401),
            headers={"Allow": ALLOW, "Content-Type": HTML},
        )
    headers = {"Allow": ALLOW}
    vary: list[str] = []
    if rules.any_origin:
        headers["Access-Control-Allow-Origin"] = "*"
    else:
        headers["Access-Control-Allow-Origin"] = origin
        vary.append("Origin")
    if rules.max_age is not None:
        headers["Access-Control-Max-Age"] = rules.max_age
    headers["Access-Control-Allow-Methods"] = ALLOW
    # Swift allows whatever headers the browser asks for (the list is the request's own).
    wanted = (h.strip() for h in ctx.headers.get("Access-Control-Request-Headers", "").split(","))
    allow_headers = list(dict.fromkeys(h for h in wanted if h))
    if allow_headers:
        headers["Access-Control-Allow-Headers"] = ", ".join(allow_headers)
        vary.append("Access-Control-Request-Headers")
    if vary:
        headers["Vary"] = ", ".join(vary)
    return _with_copy(obj, 200, headers)


def _with_copy(obj: bool, status: int, headers: dict[str, str]) -> web.Response:
    """Swift's copy filter adds COPY to the methods of an object's successful OPTIONS."""
    if obj:
        for name in ("Allow", "Access-Control-Allow-Methods"):
            if name in headers:
                headers[name] += ", COPY"
    # Swift's preflight answer carries no Content-Type: aiohttp adds none without a body.
    return web.Response(status=status, headers=headers)


async def begin(ctx: Ctx) -> None:
    """An actual request with ``Origin``: stamp its answer, whatever it is (``on_prepare``)."""
    origin = ctx.headers.get("Origin")
    if not origin or ctx.container is None or ctx.method not in VALIDATED:
        return
    rules = await rules_of(ctx)
    policy = policy_of(ctx)
    if policy.strict and not rules.allows(origin, policy):
        return

    def on_prepare(resp: web.StreamResponse) -> None:
        if not ctx.environ.get(UNSTAMPED):
            stamp(resp, origin, rules, policy.expose_headers)

    ctx.on_prepare.append(on_prepare)


@contextlib.contextmanager
def unstamped(ctx: Ctx) -> Generator[None]:
    """A refusal raised in this block is one a Swift filter before the proxy gives (the
    copy filter's checks of its headers): its answer carries no CORS headers."""
    try:
        yield
    except SwiftError:
        ctx.environ[UNSTAMPED] = True
        raise


def stamp(resp: web.StreamResponse, origin: str, rules: Rules, also: tuple[str, ...] = ()) -> None:
    """Swift's ``cors_validation`` on one answer: what to expose (``also``: the proxy's
    ``cors_expose_headers``), which origin may read it."""
    headers = resp.headers
    if "Access-Control-Expose-Headers" not in headers:
        expose: set[str] = {*EXPOSE_ALWAYS, *also}
        expose.update(h.lower() for h in headers if h.lower().startswith(_META))
        expose.update(h.lower() for h in (rules.expose_headers or "").split())
        # Swift joins a set (its order is the hash seed's): a stable order here.
        headers["Access-Control-Expose-Headers"] = ", ".join(sorted(expose))
    if "Access-Control-Allow-Origin" not in headers:
        if rules.any_origin:
            headers["Access-Control-Allow-Origin"] = "*"
        else:
            headers["Access-Control-Allow-Origin"] = origin
            vary = headers.get("Vary")
            # Swift's listing_formats adds its ``Accept`` after the proxy's ``Origin``.
            if vary == "Accept":
                headers["Vary"] = "Origin, Accept"
            else:
                headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
