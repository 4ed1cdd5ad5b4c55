"""``/v3/auth/*``: issue (password, token), validate, revoke; the caller's catalog and projects.

Issued tokens are the identity store's tokens, so every Stratus service
that checks ``X-Auth-Token`` accepts them as it accepts /auth/v1.0's. A
request without a scope gets a token for the user's own project (Keystone
does this for a user with a default project it has a role on);
``"scope": "unscoped"`` asks for an unscoped one, which only proves who the
user is: no catalog, no roles, and no service accepts it.

Password checks run scrypt in worker threads, a few at a time, and are paid
for from the client address's failure budget (:mod:`stratus.authlimit`), as
/auth/v1.0's are. Passwords and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from stratus.authlimit import retry_after_header
from stratus.identity import keyhash
from stratus.identity.errors import IdentityError
from stratus.identity.keystone import shapes
from stratus.identity.keystone.context import (
    Service,
    caller,
    is_cloud_admin,
    json_body,
    reply,
    service,
)
from stratus.identity.keystone.errors import KeystoneError, bad_request, forbidden, unauthorized
from stratus.identity.keystone.lookup import is_default_domain, pick_user, user_by_id, users_named
from stratus.identity.records import TokenInfo, User

log = logging.getLogger("stratus.identity.keystone")


@dataclass(frozen=True)
class Scope:
    """What a token request asks for: a project (by name), the default one, or none."""

    project: str | None = None
    unscoped: bool = False


def parse_scope(scope: Any) -> Scope:
    if scope is None:
        return Scope()
    if scope == "unscoped":
        return Scope(unscoped=True)
    if not isinstance(scope, dict):
        raise bad_request("Invalid input for field 'scope'.")
    ref = scope.get("project")
    if ref is None:
        raise unauthorized("Stratus grants roles on projects only: scope the token to a project.")
    if not isinstance(ref, dict):
        raise bad_request("Invalid input for field 'scope.project'.")
    if isinstance(ref.get("id"), str) and ref["id"]:
        return Scope(project=ref["id"])
    name = ref.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request("Invalid input for field 'scope.project': give an id or a name.")
    if "domain" not in ref:
        raise bad_request("Expecting to find domain in project.")
    if not is_default_domain(ref["domain"]):
        raise unauthorized()
    return Scope(project=name)


async def issue_token(request: web.Request) -> web.Response:
    """POST /v3/auth/tokens."""
    svc = service(request)
    auth = await json_body(request, "auth")
    ident = auth.get("identity")
    if not isinstance(ident, dict):
        raise bad_request("Expecting to find identity in auth.")
    methods = ident.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise bad_request("Invalid input for field 'identity.methods'.")
    scope = parse_scope(auth.get("scope"))
    if any(m not in ("password", "token") for m in methods):
        raise unauthorized("Attempted to authenticate with an unsupported method.")
    if "password" in methods:
        user = await _password_user(request, svc, ident.get("password"), scope)
        project, name, expires_at, audit = user.project, user.name, None, ()
        used: tuple[str, ...] = ("password",)
    else:
        info = _token_user(svc, ident.get("token"))
        p = info.principal
        project, name, expires_at = p.project, p.user, p.expires
        audit = info.audit_ids[-1:]
        used = tuple(dict.fromkeys([*info.methods, "token"]))
    if scope.project is not None and scope.project != project:
        raise unauthorized(f"User has no access to project {scope.project[:80]}.")
    try:
        token, _ = await asyncio.to_thread(
            svc.store.issue_token,
            project,
            name,
            svc.token_lifetime,
            scoped=not scope.unscoped,
            methods=used,
            audit_ids=audit,
            expires_at=expires_at,
        )
    except IdentityError:  # deleted meanwhile, or the old token ran out
        raise unauthorized() from None
    info = svc.store.token_info(token)
    if info is None:
        raise unauthorized()
    log.info("token issued to %s (%s)", info.principal.name, ",".join(used))
    return _token_reply(request, svc, token, info, status=201)


async def _password_user(request: web.Request, svc: Service, pw: Any, scope: Scope) -> User:
    """The user a password method names, after its key checked out; 401 otherwise."""
    ref = pw.get("user") if isinstance(pw, dict) else None
    if not isinstance(ref, dict):
        raise bad_request("Expecting to find user in password.")
    password = ref.get("password")
    if not isinstance(password, str) or not password:
        raise bad_request("Invalid input for field 'password.user.password'.")
    if isinstance(ref.get("id"), str):
        user = user_by_id(svc.store, ref["id"])
    elif isinstance(ref.get("name"), str) and ref["name"]:
        if "domain" not in ref:
            raise bad_request("Expecting to find domain in user.")
        known = is_default_domain(ref["domain"])
        user = pick_user(users_named(svc.store, ref["name"]), scope.project) if known else None
    else:
        raise bad_request("Invalid input for field 'password.user': give an id or a name.")
    wait = svc.failures.charge(request.remote)
    if wait:
        raise KeystoneError(
            429,
            "Too many failed authentications; try again later.",
            {"Retry-After": retry_after_header(wait)},
        )
    async with svc.checks:
        if user is None:
            await asyncio.to_thread(keyhash.burn_time, password)
            ok = False
        else:
            ok = (
                await asyncio.to_thread(svc.store.check_key, user.project, user.name, password)
                is not None
            )
    if not ok or user is None:
        log.info("keystone auth refused from %s", request.remote)
        raise unauthorized()
    svc.failures.refund(request.remote)
    return user


def _token_user(svc: Service, tok: Any) -> TokenInfo:
    tid = tok.get("id") if isinstance(tok, dict) else None
    if not isinstance(tid, str) or not tid:
        raise bad_request("Invalid input for field 'token.id'.")
    info = svc.store.token_info(tid)
    if info is None:
        raise unauthorized()
    return info


def _token_reply(
    request: web.Request, svc: Service, token: str, info: TokenInfo, *, status: int = 200
) -> web.Response:
    catalog = None if "nocatalog" in request.query else svc.catalog.entries(info.principal.project)
    return reply(
        {"token": shapes.token(info, catalog)},
        status,
        {"X-Subject-Token": token, "Vary": "X-Auth-Token"},
    )


def _subject(request: web.Request) -> tuple[str, TokenInfo]:
    """The X-Subject-Token the caller may see: its own, or any for the cloud admin."""
    me = caller(request)
    subject = request.headers.get("X-Subject-Token", "")
    if not subject:
        raise bad_request("Expecting to find X-Subject-Token in the request headers.")
    info = service(request).store.token_info(subject)
    if info is None:
        raise KeystoneError(404, "Could not find token.")
    if not is_cloud_admin(me) and info.principal.name != me.principal.name:
        raise forbidden()
    return subject, info


async def validate_token(request: web.Request) -> web.Response:
    """GET (and HEAD) /v3/auth/tokens."""
    subject, info = _subject(request)
    return _token_reply(request, service(request), subject, info)


async def revoke_token(request: web.Request) -> web.Response:
    """DELETE /v3/auth/tokens: the token stops working at once here (services cache ≤ 5 s)."""
    subject, _ = _subject(request)
    await asyncio.to_thread(service(request).store.revoke_token, subject)
    return web.Response(status=204)


async def auth_catalog(request: web.Request) -> web.Response:
    """GET /v3/auth/catalog: the caller's catalog (a scoped token only)."""
    me = caller(request)
    if not me.scoped:
        raise forbidden("A project-scoped token is required to produce a service catalog.")
    svc = service(request)
    return reply(
        {
            "catalog": svc.catalog.entries(me.principal.project),
            "links": shapes.collection_links(svc.base(request), "auth/catalog"),
        }
    )


async def auth_projects(request: web.Request) -> web.Response:
    """GET /v3/auth/projects: the projects the caller may scope to (its own)."""
    me = caller(request)
    svc = service(request)
    base = svc.base(request)
    try:
        projects = [shapes.project(base, svc.store.get_project(me.principal.project))]
    except IdentityError:
        projects = []
    return reply({"projects": projects, "links": shapes.collection_links(base, "auth/projects")})


async def auth_domains(request: web.Request) -> web.Response:
    """GET /v3/auth/domains: none (Stratus roles are on projects only)."""
    caller(request)
    base = service(request).base(request)
    return reply({"domains": [], "links": shapes.collection_links(base, "auth/domains")})


ROUTES = [
    web.post("/v3/auth/tokens", issue_token),
    web.get("/v3/auth/tokens", validate_token),
    web.delete("/v3/auth/tokens", revoke_token),
    web.get("/v3/auth/catalog", auth_catalog),
    web.get("/v3/auth/projects", auth_projects),
    web.get("/v3/auth/domains", auth_domains),
]
