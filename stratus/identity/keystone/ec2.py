"""``/v3/users/{id}/credentials/OS-EC2``: Keystone's EC2 credentials are Stratus's S3 credentials.

`openstack ec2 credentials create|list|show|delete` thus make, show and drop
the access key / secret pairs the S3 API checks (the same ones `stratus
credentials` manages). A user manages its own, the cloud admin everyone's;
a pair always acts in the user's own project. Like Keystone, the secret is
in every answer: the S3 signature needs it, so it is stored recoverably
(see :mod:`stratus.identity.credentials`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from stratus.identity.errors import IdentityError, NotFound
from stratus.identity.keystone.context import caller, is_cloud_admin, reply, service
from stratus.identity.keystone.errors import KeystoneError, bad_request, forbidden, not_found
from stratus.identity.keystone.lookup import user_by_id
from stratus.identity.records import User

MAX_PER_USER = 100
"""Pairs one user may hold through this API, so a loop cannot fill the store."""


def _owner(request: web.Request) -> User:
    """The path's user, if the caller is that user or the cloud admin."""
    me = caller(request)
    uid = request.match_info["user_id"]
    user = user_by_id(service(request).store, uid)
    if user is None:
        raise not_found("user", uid) if is_cloud_admin(me) else forbidden()
    p = me.principal
    if not is_cloud_admin(me) and (p.project, p.user) != (user.project, user.name):
        raise forbidden()
    return user


def _shape(request: web.Request, user: User, access: str, secret: str) -> dict[str, Any]:
    uid = request.match_info["user_id"]
    base = service(request).base(request)
    return {
        "user_id": uid,
        "tenant_id": user.project,
        "access": access,
        "secret": secret,
        "trust_id": None,
        "links": {"self": f"{base}/v3/users/{uid}/credentials/OS-EC2/{access}"},
    }


def _mine(request: web.Request, user: User, access: str) -> str:
    """The secret of ``access`` if it is ``user``'s; 404 otherwise."""
    try:
        secret, principal = service(request).store.lookup_credential(access)
    except NotFound:
        raise not_found("credential", access) from None
    if (principal.project, principal.user) != (user.project, user.name):
        raise not_found("credential", access)
    return secret


async def create(request: web.Request) -> web.Response:
    user = _owner(request)
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    project = body.get("tenant_id") if isinstance(body, dict) else None
    if project is not None and not isinstance(project, str):
        raise bad_request("Invalid input for field 'tenant_id'.")
    if project not in (None, user.project):
        raise forbidden(f"The user holds roles in project {user.project} only.")
    store = service(request).store
    if len(store.list_credentials(user.project, user.name)) >= MAX_PER_USER:
        raise KeystoneError(409, f"A user may hold {MAX_PER_USER} EC2 credentials at most.")
    try:
        access, secret = await asyncio.to_thread(store.create_credential, user.project, user.name)
    except IdentityError as exc:
        raise bad_request(str(exc)) from None
    return reply({"credential": _shape(request, user, access, secret)}, 201)


async def list_all(request: web.Request) -> web.Response:
    user = _owner(request)
    store = service(request).store
    items = []
    for cred in store.list_credentials(user.project, user.name):
        try:
            secret, _ = store.lookup_credential(cred.access)
        except NotFound:  # deleted meanwhile
            continue
        items.append(_shape(request, user, cred.access, secret))
    base = service(request).base(request)
    uid = request.match_info["user_id"]
    self_link = f"{base}/v3/users/{uid}/credentials/OS-EC2"
    return reply(
        {"credentials": items, "links": {"self": self_link, "previous": None, "next": None}}
    )


async def show(request: web.Request) -> web.Response:
    user = _owner(request)
    access = request.match_info["access"]
    return reply({"credential": _shape(request, user, access, _mine(request, user, access))})


async def delete(request: web.Request) -> web.Response:
    user = _owner(request)
    access = request.match_info["access"]
    _mine(request, user, access)
    try:
        await asyncio.to_thread(service(request).store.delete_credential, access)
    except NotFound:
        raise not_found("credential", access) from None
    return web.Response(status=204)


_PATH = "/v3/users/{user_id}/credentials/OS-EC2"
ROUTES = [
    web.post(_PATH, create),
    web.get(_PATH, list_all),
    web.get(_PATH + "/{access}", show),
    web.delete(_PATH + "/{access}", delete),
]
