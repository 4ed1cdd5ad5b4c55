"""TempURL: time-limited, signed URLs to one object (or a name prefix), as Swift 2.38.

``?temp_url_sig=<hmac>&temp_url_expires=<unix time or ISO 8601>`` signs
``<METHOD>\\n<expires>\\n/v1/<account>/<container>/<object>`` with one of
the account's or container's TempURL keys (``tempkeys``); with
``temp_url_prefix=<p>`` the path is ``prefix:/v1/<a>/<c>/<p>`` and every
object under it is reached; with ``temp_url_ip_range=<ip or net>`` the
message starts ``ip=<range>\\n`` and only those clients are let in. A HEAD
is allowed by a HEAD, GET, POST or PUT signature. Anything wrong answers
401 "Temp URL invalid", never saying which part failed.

A valid request acts for nobody (its token, if any, is not used): it may
reach the signing key's account, or its container for a container key
(``auth.SignedScope`` in ``ctx.environ``, read by ``obj.authorize``); its
query is reduced to the TempURL parameters, so no other parameter
(``multipart-manifest``, ``symlink``...) rides along. Writes may not carry
``X-Object-Manifest``, ``X-Symlink-Target`` or ``X-Copy-From`` (they would
point the URL's holder at data the signature never covered). Answers lose
``X-Object-Meta-*`` but ``X-Object-Meta-Public-*``; a successful GET or
HEAD gets ``Content-Disposition`` (``inline`` / ``filename`` parameters,
else the object's own, else an attachment named after the object) and an
``Expires`` of the URL's end.

GET or HEAD of a container root with ``temp_url_prefix=`` is let through
only to a staticweb listing (a container with ``Web-Listings`` on), as
Swift lets only staticweb's answers through; it is inline, as is every
answer a filter marks ``ctx.environ[CONTENT_GENERATOR] = "staticweb"``.
(Swift also refuses a staticweb index page there; Stratus serves it.)
"""

from __future__ import annotations

import calendar
import ipaddress
import posixpath
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from objectstore.proxy.conditional import http_date
from objectstore.proxy.swift import auth, pipeline
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.headers import truthy
from objectstore.proxy.swift.middleware import tempkeys

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
HEAD_SIGNED_BY = ("HEAD", "GET", "POST", "PUT")
INCOMING_REMOVE_HEADERS = ("x-timestamp", "x-open-expired")
OUTGOING_REMOVE_HEADERS = ("x-object-meta-*",)
OUTGOING_ALLOW_HEADERS = ("x-object-meta-public-*",)
DISALLOWED_HEADERS = ("x-object-manifest", "x-symlink-target", "x-copy-from")
EXPIRES_ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
#: ``ctx.environ`` key a filter sets to name what generated its answer (Swift's
#: ``X-Backend-Content-Generator``): a staticweb page is shown inline.
CONTENT_GENERATOR = "swift.content_generator"
INVALID_BODY = "401 Unauthorized: Temp URL invalid\n"


def info() -> dict[str, Any]:
    """The /info section, as Swift 2.38's tempurl registers it."""
    return {
        "methods": list(METHODS),
        "incoming_remove_headers": list(INCOMING_REMOVE_HEADERS),
        "incoming_allow_headers": [],
        "outgoing_remove_headers": list(OUTGOING_REMOVE_HEADERS),
        "outgoing_allow_headers": list(OUTGOING_ALLOW_HEADERS),
        **tempkeys.digests_info(),
    }


@dataclass(frozen=True)
class TempURLQuery:
    """The TempURL parameters of a query string (the first of each, as Swift reads them)."""

    sig: str | None = None
    expires: str | None = None
    prefix: str | None = None
    filename: str | None = None
    inline: bool = False
    ip_range: str | None = None

    @classmethod
    def parse(cls, raw_query: str) -> TempURLQuery:
        qs = parse_qs(raw_query, keep_blank_values=True, errors="surrogateescape")

        def first(name: str) -> str | None:
            return qs[name][0] if name in qs else None

        return cls(
            sig=first("temp_url_sig"),
            expires=first("temp_url_expires"),
            prefix=first("temp_url_prefix"),
            filename=first("filename"),
            inline="inline" in qs,
            ip_range=first("temp_url_ip_range"),
        )


def normalize_expires(value: str | None, now: float | None = None) -> int | None:
    """Unix time from ``temp_url_expires``; 0 when unreadable or past, None when absent."""
    if value is None:
        return None
    try:
        expires = int(value)
    except ValueError:
        try:
            expires = calendar.timegm(time.strptime(value, EXPIRES_ISO8601))
        except ValueError:
            expires = 0
    return 0 if expires < (time.time() if now is None else now) else expires


def disposition(kind: str, filename: str) -> str:
    """RFC 6266 ``Content-Disposition`` with both ``filename`` and ``filename*``, as Swift."""
    raw = filename.encode("utf-8", "surrogateescape")
    return f"{kind}; filename=\"{quote(raw, safe=' /')}\"; filename*=UTF-8''{quote(raw, safe='/')}"


def invalid(method: str) -> SwiftError:
    """Swift's 401 for any bad TempURL (no body for HEAD)."""
    body = "" if method == "HEAD" else INVALID_BODY
    return SwiftError(401, body, {"Www-Authenticate": tempkeys.REALM}, content_type=HTML)


def _message(method: str, expires: int, path: str, ip_range: str | None) -> str:
    """The signed text (Swift's get_hmac): the ip range first, so a path cannot fake it."""
    body = f"{method}\n{expires}\n{path}"
    return f"ip={ip_range}\n{body}" if ip_range else body


def _object_path(ctx: Ctx, container_root: bool) -> tuple[str, str, str] | None:
    """(account, container, object) of a TempURL-able request, else None."""
    if ctx.method not in METHODS or ctx.container is None:
        return None
    version = ctx.request.raw_path.split("/", 2)[1]
    obj = ctx.obj or ""
    if version != "v1" or not (container_root or obj.strip("/")):
        return None
    return ctx.account, ctx.container, obj


def _ip_allowed(ip_range: str, client: str | None) -> bool:
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client) in ipaddress.ip_network(ip_range)
    except ValueError:
        return False


async def verify(ctx: Ctx, q: TempURLQuery, expires: int | None) -> tuple[str, auth.SignedScope]:
    """Check a TempURL in Swift's order; (hex signature, granted scope) or 401."""
    if not q.sig or not expires:
        raise invalid(ctx.method)
    try:
        algo, sig = tempkeys.parse_signature(q.sig)
    except ValueError:
        raise invalid(ctx.method) from None
    if algo not in tempkeys.ALLOWED_DIGESTS:
        raise invalid(ctx.method)
    parts = _object_path(ctx, ctx.method in ("GET", "HEAD") and q.prefix == "")
    if parts is None:
        raise invalid(ctx.method)
    account, container, obj = parts
    if q.ip_range and not _ip_allowed(q.ip_range, ctx.request.remote):
        raise invalid(ctx.method)
    keys = await tempkeys.keys(ctx, account, container)
    if not keys:
        raise invalid(ctx.method)
    if q.prefix is None:
        path = f"/v1/{account}/{container}/{obj}"
    elif obj.startswith(q.prefix):
        path = f"prefix:/v1/{account}/{container}/{q.prefix}"
    else:
        raise invalid(ctx.method)
    methods = HEAD_SIGNED_BY if ctx.method == "HEAD" else (ctx.method,)
    for method in methods:
        message = _message(method, expires, path, q.ip_range)
        for key in keys:
            if tempkeys.matches(sig, tempkeys.sign(key.secret, message, algo)):
                return sig, key.scope(account, container)
    raise invalid(ctx.method)


def _check_disallowed(ctx: Ctx) -> None:
    if ctx.method in ("GET", "HEAD", "OPTIONS"):
        return
    for name in ctx.headers:
        if name.lower() in DISALLOWED_HEADERS:
            shown = name.title()
            raise SwiftError(
                400, f"The header {shown!r} is not allowed in this tempurl", content_type=HTML
            )


def _incoming(headers: CIMultiDictProxy[str]) -> CIMultiDictProxy[str]:
    kept = CIMultiDict(
        (k, v) for k, v in headers.items() if k.lower() not in INCOMING_REMOVE_HEADERS
    )
    return CIMultiDictProxy(kept)


def _outgoing_removed(name: str) -> bool:
    low = name.lower()
    if any(low.startswith(p.rstrip("*")) for p in OUTGOING_ALLOW_HEADERS):
        return False
    return any(low.startswith(p.rstrip("*")) for p in OUTGOING_REMOVE_HEADERS)


class _Answer:
    """The answer's header changes (``ctx.on_prepare``): cleaning, disposition, Expires."""

    def __init__(self, ctx: Ctx, q: TempURLQuery, expires: int, root: bool) -> None:
        self.method, self.q, self.expires, self.root = ctx.method, q, expires, root
        self.environ = ctx.environ
        self.path = unquote(ctx.request.raw_path.partition("?")[0])

    def __call__(self, response: web.StreamResponse) -> None:
        headers = response.headers
        for name in [h for h in headers if _outgoing_removed(h)]:
            headers.popall(name, None)
        if self.method not in ("GET", "HEAD") or not 200 <= response.status < 300:
            return
        existing = headers.get("Content-Disposition")
        headers.popall("Content-Disposition", None)
        inline = self.q.inline or self.root or self.environ.get(CONTENT_GENERATOR) == "staticweb"
        if inline:
            value = disposition("inline", self.q.filename) if self.q.filename else "inline"
        elif self.q.filename:
            value = disposition("attachment", self.q.filename)
        elif existing:
            value = existing
        else:
            value = disposition("attachment", posixpath.basename(self.path.rstrip("/")))
        headers["Content-Disposition"] = value.replace("\n", "%0A")
        headers["Expires"] = http_date(self.expires)


async def _site_listing(ctx: Ctx) -> bool:
    """The container is a staticweb site with listings (``X-Container-Meta-Web-Listings``)."""
    assert ctx.container is not None
    info = await ctx.core.container_info(ctx.account, ctx.container)
    return info is not None and truthy(info.user.get("web-listings"))


async def handle(ctx: Ctx, next: pipeline.Next) -> web.StreamResponse:
    """Verify a TempURL and run it with the signature's rights alone; pass others on."""
    tempkeys.hide_keys(ctx)
    if ctx.method == "OPTIONS":
        return await next(ctx)
    q = TempURLQuery.parse(ctx.request.rel_url.raw_query_string)
    expires = normalize_expires(q.expires)
    if q.sig is None and expires is None:
        return await next(ctx)
    sig, scope = await verify(ctx, q, expires)
    assert expires
    _check_disallowed(ctx)
    root = not (ctx.obj or "").strip("/")
    if root and not await _site_listing(ctx):
        raise invalid(ctx.method)  # a container root: only staticweb's listings
    params = {"temp_url_sig": sig, "temp_url_expires": q.expires or ""}
    if q.prefix is not None:
        params["temp_url_prefix"] = q.prefix
    if q.filename:
        params["filename"] = q.filename
    if q.inline:
        params["inline"] = ""
    ctx.environ[auth.SIGNED_SCOPE] = scope
    ctx.on_prepare.append(_Answer(ctx, q, expires, root))
    signed = replace(ctx, principal=None, headers=_incoming(ctx.headers), params=params)
    return await next(signed)


FEATURE = pipeline.Feature("tempurl", handle, info)
