"""Swift tempauth-compatible ``GET /auth/v1.0``.

Clients send ``X-Auth-User: project:user`` and ``X-Auth-Key`` (or the older
``X-Storage-User`` / ``X-Storage-Pass``) and get back a token and their
storage URL, exactly as python-swiftclient and the ``swift`` CLI expect:

- 200 with ``X-Auth-Token``, ``X-Storage-Token``, ``X-Storage-Url``
  (``<scheme>://<host>/v1/AUTH_<project>``) and ``X-Auth-Token-Expires``
  (seconds left), plus a JSON body naming the storage URL;
- 401 with Swift's HTML body when the user or key is wrong, missing or
  malformed, challenging with ``Swift realm="<account>"`` (the part of the
  user before the colon, "unknown" without one) as tempauth does;
- 429 with ``Retry-After`` when the client's address has failed too often
  (:mod:`stratus.authlimit`): no key is checked then.

The key check runs scrypt in a worker thread, a few at a time, so a burst of
logins neither blocks the event loop nor eats all memory; each check is paid
for from the address's failure budget before it runs and refunded when it
succeeds, so a flood of guesses from one address is cut off after a few
checks. Keys and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from stratus.authlimit import AuthLimits, FailureLimiter, retry_after_header
from stratus.identity.errors import IdentityError
from stratus.identity.names import parse_user_spec
from stratus.identity.store import IdentityStore

log = logging.getLogger("stratus.identity.tempauth")

AUTH_PATHS = ("/auth/v1.0", "/auth/v1.0/")

_UNAUTHORIZED = (
    "<html><h1>Unauthorized</h1><p>This server could not verify that you are "
    "authorized to access the document you requested.</p></html>"
)
_NOT_ALLOWED = "<html><h1>Method Not Allowed</h1></html>"
_TOO_MANY = (
    "<html><h1>Too Many Requests</h1><p>Too many failed authentications from this "
    "address; try again later.</p></html>"
)


def make_auth_handler(
    store: IdentityStore,
    token_lifetime: float,
    *,
    storage_url_base: str = "",
    max_concurrent_checks: int = 2,
    limiter: FailureLimiter | None = None,
) -> Handler:
    """The aiohttp handler for GET (and HEAD) /auth/v1.0.

    ``storage_url_base`` (e.g. ``https://swift.example.com``) is put before
    ``/v1/AUTH_<project>``; empty means the request's own scheme and Host.
    ``limiter`` limits failed logins per client address (default: the
    built-in :class:`AuthLimits`).
    """
    if token_lifetime <= 0:
        raise ValueError("token_lifetime must be > 0")
    base = storage_url_base.rstrip("/")
    checks = asyncio.Semaphore(max_concurrent_checks)
    failures = limiter if limiter is not None else FailureLimiter(AuthLimits())

    async def handle_get_token(request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return _html(405, _NOT_ALLOWED, {"Allow": "GET, HEAD"})
        spec = request.headers.get("X-Auth-User") or request.headers.get("X-Storage-User")
        key = request.headers.get("X-Auth-Key") or request.headers.get("X-Storage-Pass")
        # Swift's challenge names the account of X-Auth-User ("unknown" without one).
        refused = _unauthorized(_realm(spec))
        if not spec or not key:
            return refused
        try:
            project, user = parse_user_spec(spec)
        except IdentityError:
            return refused
        wait = failures.charge(request.remote)
        if wait:
            log.info("auth throttled for %s:%s from %s", project, user, request.remote)
            return _html(429, _TOO_MANY, {"Retry-After": retry_after_header(wait)})
        async with checks:
            result = await asyncio.to_thread(store.login, project, user, key, token_lifetime)
        if result is None:
            log.info("auth refused for %s:%s from %s", project, user, request.remote)
            return refused
        failures.refund(request.remote)
        token, principal = result
        url = f"{base or f'{request.scheme}://{request.host}'}/v1/{principal.account}"
        assert principal.expires is not None
        left = max(0, int(principal.expires - store.clock()))
        log.info("auth granted to %s", principal.name)
        body = json.dumps({"storage": {"default": "local", "local": url}})
        return web.Response(
            status=200,
            text=body,
            content_type="application/json",
            headers={
                "X-Auth-Token": token,
                "X-Storage-Token": token,
                "X-Storage-Url": url,
                "X-Auth-Token-Expires": str(left),
                "Cache-Control": "no-store",
            },
        )

    return handle_get_token


def make_auth_routes(
    store: IdentityStore,
    token_lifetime: float,
    *,
    storage_url_base: str = "",
    limiter: FailureLimiter | None = None,
) -> list[web.RouteDef]:
    """GET (and HEAD) on /auth/v1.0 and /auth/v1.0/, ready for ``app.add_routes``."""
    handler = make_auth_handler(
        store, token_lifetime, storage_url_base=storage_url_base, limiter=limiter
    )
    return [web.get(path, handler) for path in AUTH_PATHS]


def _realm(spec: str | None) -> str:
    """tempauth's realm: the part of ``account:user`` before the colon, else "unknown".

    A name that could not be echoed safely in a quoted header value is "unknown" too.
    """
    account = spec.partition(":")[0] if spec and ":" in spec else ""
    if not account.isascii() or not account.isprintable() or '"' in account or "\\" in account:
        return "unknown"
    return account or "unknown"


def _unauthorized(realm: str) -> web.Response:
    return _html(401, _UNAUTHORIZED, {"Www-Authenticate": f'Swift realm="{realm}"'})


def _html(status: int, body: str, headers: dict[str, str] | None = None) -> web.Response:
    # swob's label, byte for byte (aiohttp's charset= would be lower case)
    return web.Response(
        status=status,
        text=body,
        headers={"Content-Type": "text/html; charset=UTF-8", **(headers or {})},
    )
