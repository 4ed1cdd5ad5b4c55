"""``/v3/domains``, ``/v3/projects``, ``/v3/users``, ``/v3/roles``, ``/v3/role_assignments``.

Backed by the same store as `stratus project|user`. Policy, as Keystone's
defaults for a project-scoped cloud: the cloud admin (admin role on project
``admin``) reads and writes everything; any other token reads its own user,
project and role assignments and the (fixed) roles and domain, and lists
nothing else (403).

Stratus's model is narrower than Keystone's and says so with 400/409
rather than pretending: a user belongs to one project (``default_project_id``,
required at creation) and holds exactly one role there, so granting a role
replaces it, a grant on another project is refused, and revoking the only
role is refused; roles are fixed (:data:`stratus.identity.names.ROLES`); a
project with users is not deleted. A user made through this API starts with
the weakest role until one is granted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from stratus.identity.errors import AlreadyExists, IdentityError, NotFound
from stratus.identity.keystone import shapes
from stratus.identity.keystone.context import (
    caller,
    is_cloud_admin,
    json_body,
    reply,
    require_admin,
    service,
    text_field,
)
from stratus.identity.keystone.errors import KeystoneError, bad_request, forbidden, not_found
from stratus.identity.keystone.lookup import user_by_id
from stratus.identity.names import ROLES, effective_roles
from stratus.identity.records import Project, TokenInfo, User


def _store_error(exc: IdentityError, kind: str, name: str) -> KeystoneError:
    if isinstance(exc, AlreadyExists):
        return KeystoneError(
            409,
            f"Conflict occurred attempting to store {kind} - Duplicate entry found with name "
            f"{name[:64]} at domain ID {shapes.DOMAIN_ID}.",
        )
    if isinstance(exc, NotFound):
        return KeystoneError(404, str(exc))
    return bad_request(str(exc))


def _list_reply(request: web.Request, key: str, items: list[dict[str, Any]]) -> web.Response:
    base = service(request).base(request)
    return reply({key: items, "links": shapes.collection_links(base, key)})


def _domain_filter(request: web.Request) -> bool:
    """False when ``?domain_id=`` names another domain (nothing matches then)."""
    wanted = request.query.get("domain_id")
    return wanted is None or wanted == shapes.DOMAIN_ID


# -- domains ---------------------------------------------------------------------------


async def list_domains(request: web.Request) -> web.Response:
    caller(request)
    name = request.query.get("name")
    show = name is None or name == shapes.DOMAIN_NAME
    domain = shapes.domain(service(request).base(request))
    return _list_reply(request, "domains", [domain] if show else [])


async def get_domain(request: web.Request) -> web.Response:
    caller(request)
    if request.match_info["domain_id"] != shapes.DOMAIN_ID:
        raise not_found("domain", request.match_info["domain_id"])
    return reply({"domain": shapes.domain(service(request).base(request))})


# -- projects --------------------------------------------------------------------------


def _project(request: web.Request, ident: str) -> Project:
    try:
        return service(request).store.get_project(ident)
    except IdentityError:
        raise not_found("project", ident) from None


def _own_or_admin(me: TokenInfo, project: str, user: User | None = None) -> None:
    if is_cloud_admin(me):
        return
    p = me.principal
    if p.project != project or (user is not None and user.name != p.user):
        raise forbidden()


async def list_projects(request: web.Request) -> web.Response:
    require_admin(request)
    svc = service(request)
    base = svc.base(request)
    name = request.query.get("name")
    items = [
        shapes.project(base, p)
        for p in svc.store.list_projects()
        if (name is None or p.name == name) and _domain_filter(request)
    ]
    return _list_reply(request, "projects", items)


async def get_project(request: web.Request) -> web.Response:
    me = caller(request)
    ident = request.match_info["project_id"]
    if not is_cloud_admin(me) and ident != me.principal.project:
        raise forbidden()
    return reply(
        {"project": shapes.project(service(request).base(request), _project(request, ident))}
    )


async def create_project(request: web.Request) -> web.Response:
    require_admin(request)
    body = await json_body(request, "project")
    name = text_field(body, "name", "project") or ""
    if body.get("domain_id", shapes.DOMAIN_ID) != shapes.DOMAIN_ID:
        raise bad_request("Stratus has one domain: domain_id must be 'default'.")
    if body.get("is_domain"):
        raise bad_request("Stratus has one domain: projects cannot be domains.")
    svc = service(request)
    try:
        project = await asyncio.to_thread(svc.store.create_project, name)
    except IdentityError as exc:
        raise _store_error(exc, "project", name) from None
    return reply({"project": shapes.project(svc.base(request), project)}, 201)


async def delete_project(request: web.Request) -> web.Response:
    require_admin(request)
    ident = request.match_info["project_id"]
    svc = service(request)
    _project(request, ident)
    if ident == "admin":
        raise forbidden("The cloud admin's project cannot be deleted.")
    try:
        await asyncio.to_thread(svc.store.delete_project, ident)
    except NotFound:
        raise not_found("project", ident) from None
    except IdentityError as exc:
        raise KeystoneError(409, f"{exc}.") from None
    return web.Response(status=204)


# -- users -----------------------------------------------------------------------------


def _user(request: web.Request, uid: str) -> User:
    user = user_by_id(service(request).store, uid)
    if user is None:
        raise not_found("user", uid)
    return user


async def list_users(request: web.Request) -> web.Response:
    require_admin(request)
    svc = service(request)
    base = svc.base(request)
    name = request.query.get("name")
    items = [
        shapes.user(base, u)
        for u in svc.store.list_users()
        if (name is None or u.name == name) and _domain_filter(request)
    ]
    return _list_reply(request, "users", items)


async def get_user(request: web.Request) -> web.Response:
    me = caller(request)
    user = _user(request, request.match_info["user_id"])
    _own_or_admin(me, user.project, user)
    return reply({"user": shapes.user(service(request).base(request), user)})


async def user_projects(request: web.Request) -> web.Response:
    """GET /v3/users/{id}/projects: the one project the user belongs to."""
    me = caller(request)
    user = _user(request, request.match_info["user_id"])
    _own_or_admin(me, user.project, user)
    base = service(request).base(request)
    return _list_reply(request, "projects", [shapes.project(base, _project(request, user.project))])


async def create_user(request: web.Request) -> web.Response:
    require_admin(request)
    body = await json_body(request, "user")
    name = text_field(body, "name", "user") or ""
    project = body.get("default_project_id")
    if not isinstance(project, str) or not project:
        raise bad_request(
            "A Stratus user belongs to one project: give default_project_id (--project)."
        )
    if body.get("domain_id", shapes.DOMAIN_ID) != shapes.DOMAIN_ID:
        raise bad_request("Stratus has one domain: domain_id must be 'default'.")
    password = text_field(body, "password", "user", required=False)
    svc = service(request)
    try:
        await asyncio.to_thread(svc.store.create_user, project, name, role=ROLES[-1], key=password)
        user = svc.store.get_user(project, name)
    except IdentityError as exc:
        raise _store_error(exc, "user", name) from None
    return reply({"user": shapes.user(svc.base(request), user)}, 201)


async def update_user(request: web.Request) -> web.Response:
    """PATCH /v3/users/{id}: a new password (its tokens are revoked); nothing else changes."""
    require_admin(request)
    user = _user(request, request.match_info["user_id"])
    body = await json_body(request, "user")
    for name in ("name", "default_project_id", "domain_id"):
        current = {"name": user.name, "default_project_id": user.project}.get(
            name, shapes.DOMAIN_ID
        )
        if name in body and body[name] != current:
            raise bad_request(f"Stratus cannot change a user's {name}.")
    if body.get("enabled") is False:
        raise bad_request("Stratus cannot disable a user: delete it instead.")
    password = text_field(body, "password", "user", required=False)
    svc = service(request)
    if password is not None:
        try:
            await asyncio.to_thread(svc.store.set_key, user.project, user.name, password)
        except IdentityError as exc:
            raise _store_error(exc, "user", user.name) from None
    return reply({"user": shapes.user(svc.base(request), user)})


async def change_password(request: web.Request) -> web.Response:
    """POST /v3/users/{id}/password: a user changes its own password, knowing the old one."""
    me = caller(request)
    user = _user(request, request.match_info["user_id"])
    if (me.principal.project, me.principal.user) != (user.project, user.name):
        raise forbidden()
    body = await json_body(request, "user")
    new = text_field(body, "password", "user") or ""
    old = text_field(body, "original_password", "user") or ""
    svc = service(request)
    async with svc.checks:
        ok = await asyncio.to_thread(svc.store.check_key, user.project, user.name, old)
    if ok is None:
        raise KeystoneError(401, "The request you have made requires authentication.")
    try:
        await asyncio.to_thread(svc.store.set_key, user.project, user.name, new)
    except IdentityError as exc:
        raise _store_error(exc, "user", user.name) from None
    return web.Response(status=204)


async def delete_user(request: web.Request) -> web.Response:
    me = require_admin(request)
    user = _user(request, request.match_info["user_id"])
    if (user.project, user.name) == (me.principal.project, me.principal.user):
        raise forbidden("The cloud admin cannot delete itself.")
    try:
        await asyncio.to_thread(service(request).store.delete_user, user.project, user.name)
    except NotFound:
        raise not_found("user", request.match_info["user_id"]) from None
    return web.Response(status=204)


# -- roles and assignments -------------------------------------------------------------


async def list_roles(request: web.Request) -> web.Response:
    caller(request)
    base = service(request).base(request)
    name = request.query.get("name")
    items = [shapes.role(base, r) for r in ROLES if name is None or r == name]
    return _list_reply(request, "roles", items)


async def get_role(request: web.Request) -> web.Response:
    caller(request)
    rid = request.match_info["role_id"]
    if rid not in ROLES:
        raise not_found("role", rid)
    return reply({"role": shapes.role(service(request).base(request), rid)})


async def fixed_roles(request: web.Request) -> web.Response:
    require_admin(request)
    raise forbidden(f"Stratus's roles are fixed: {', '.join(ROLES)}.")


async def role_assignments(request: web.Request) -> web.Response:
    """GET /v3/role_assignments with Keystone's filters, ``effective`` and ``include_names``."""
    me = caller(request)
    svc = service(request)
    q = request.query
    for unsupported in ("group.id", "scope.domain.id", "scope.system"):
        if unsupported in q:
            return _list_reply(request, "role_assignments", [])
    users = svc.store.list_users()
    if not is_cloud_admin(me):
        p = me.principal
        users = [u for u in users if (u.project, u.name) == (p.project, p.user)]
    if "user.id" in q:
        users = [u for u in users if shapes.id_of(u) == q["user.id"]]
    if "scope.project.id" in q:
        users = [u for u in users if u.project == q["scope.project.id"]]
    effective = "effective" in q
    names = "include_names" in q and q["include_names"].lower() not in ("0", "false", "no")
    base = svc.base(request)
    items = [
        shapes.assignment(base, u, r, names=names)
        for u in users
        for r in (effective_roles(u.role) if effective else (u.role,))
        if q.get("role.id") in (None, r)
    ]
    return _list_reply(request, "role_assignments", items)


def _grant_target(request: web.Request) -> tuple[User, str]:
    """The (user, role) of a /projects/{p}/users/{u}/roles/{r} path, checked."""
    project = request.match_info["project_id"]
    _project(request, project)
    user = _user(request, request.match_info["user_id"])
    role = request.match_info["role_id"]
    if role not in ROLES:
        raise not_found("role", role)
    if user.project != project:
        raise bad_request(
            f"A Stratus user holds roles in its own project only ({user.project}), "
            f"not in {project[:64]}."
        )
    return user, role


async def grant_role(request: web.Request) -> web.Response:
    """PUT: the user's role becomes this one (a Stratus user holds one role)."""
    require_admin(request)
    user, role = _grant_target(request)
    await asyncio.to_thread(service(request).store.set_role, user.project, user.name, role)
    return web.Response(status=204)


async def check_grant(request: web.Request) -> web.Response:
    """HEAD/GET: 204 if the user holds exactly this role, else 404."""
    me = caller(request)
    user, role = _grant_target(request)
    _own_or_admin(me, user.project, user)
    if user.role != role:
        raise not_found("role assignment", f"{role} on {user.project}")
    return web.Response(status=204)


async def revoke_role(request: web.Request) -> web.Response:
    require_admin(request)
    user, role = _grant_target(request)
    if user.role != role:
        raise not_found("role assignment", f"{role} on {user.project}")
    raise KeystoneError(
        409,
        "A Stratus user always holds one role in its project: grant another role "
        "instead, or delete the user.",
    )


async def user_roles_on_project(request: web.Request) -> web.Response:
    """GET /v3/projects/{p}/users/{u}/roles."""
    me = caller(request)
    project = request.match_info["project_id"]
    _project(request, project)
    user = _user(request, request.match_info["user_id"])
    _own_or_admin(me, user.project, user)
    base = service(request).base(request)
    items = [shapes.role(base, user.role)] if user.project == project else []
    return _list_reply(request, "roles", items)


_GRANT = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"

ROUTES = [
    web.get("/v3/domains", list_domains),
    web.get("/v3/domains/{domain_id}", get_domain),
    web.get("/v3/projects", list_projects),
    web.post("/v3/projects", create_project),
    web.get("/v3/projects/{project_id}", get_project),
    web.delete("/v3/projects/{project_id}", delete_project),
    web.get("/v3/users", list_users),
    web.post("/v3/users", create_user),
    web.get("/v3/users/{user_id}", get_user),
    web.patch("/v3/users/{user_id}", update_user),
    web.delete("/v3/users/{user_id}", delete_user),
    web.post("/v3/users/{user_id}/password", change_password),
    web.get("/v3/users/{user_id}/projects", user_projects),
    web.get("/v3/roles", list_roles),
    web.post("/v3/roles", fixed_roles),
    web.get("/v3/roles/{role_id}", get_role),
    web.delete("/v3/roles/{role_id}", fixed_roles),
    web.get("/v3/role_assignments", role_assignments),
    web.get("/v3/projects/{project_id}/users/{user_id}/roles", user_roles_on_project),
    web.put(_GRANT, grant_role),
    web.get(_GRANT, check_grant),
    web.delete(_GRANT, revoke_role),
]
