"""Keystone v3 JSON shapes of Stratus's projects, users, roles and tokens.

Stratus has one domain (``default``, named ``Default``); a user belongs to
exactly one project and holds one role there. IDs:

- a project's id is its name, so the object-store endpoint
  ``/v1/AUTH_<project_id>`` is the project's storage account;
- a role's id is its name (``admin``, ``member``, ``reader``);
- a user's id is 32 hex digits derived from ``project:user`` and its
  creation time: stable while the user lives, new if it is deleted and made
  again (Keystone's ids are hex uuids too).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from stratus.identity.names import effective_roles
from stratus.identity.records import Project, TokenInfo, User

DOMAIN_ID = "default"
DOMAIN_NAME = "Default"
DOMAIN = {"id": DOMAIN_ID, "name": DOMAIN_NAME}


def iso(ts: float) -> str:
    """Keystone's timestamps: ISO 8601, UTC, microseconds, ``Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_id(project: str, name: str, created: float) -> str:
    """The Keystone id of user ``project:name`` created at ``created``."""
    return hashlib.sha256(f"{project}:{name}:{created!r}".encode()).hexdigest()[:32]


def id_of(user: User) -> str:
    return user_id(user.project, user.name, user.created)


def links(base: str, path: str) -> dict[str, Any]:
    return {"self": f"{base}/v3/{path}"}


def collection_links(base: str, path: str) -> dict[str, Any]:
    return {"self": f"{base}/v3/{path}", "previous": None, "next": None}


def domain(base: str) -> dict[str, Any]:
    return {
        "id": DOMAIN_ID,
        "name": DOMAIN_NAME,
        "description": "The only domain of Stratus",
        "enabled": True,
        "tags": [],
        "options": {},
        "links": links(base, f"domains/{DOMAIN_ID}"),
    }


def project(base: str, p: Project) -> dict[str, Any]:
    return {
        "id": p.name,
        "name": p.name,
        "domain_id": DOMAIN_ID,
        "parent_id": DOMAIN_ID,
        "is_domain": False,
        "description": "",
        "enabled": True,
        "tags": [],
        "options": {},
        "links": links(base, f"projects/{p.name}"),
    }


def user(base: str, u: User) -> dict[str, Any]:
    uid = id_of(u)
    return {
        "id": uid,
        "name": u.name,
        "domain_id": DOMAIN_ID,
        "default_project_id": u.project,
        "enabled": True,
        "password_expires_at": None,
        "options": {},
        "links": links(base, f"users/{uid}"),
    }


def role(base: str, name: str) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "domain_id": None,
        "description": None,
        "options": {},
        "links": links(base, f"roles/{name}"),
    }


def assignment(base: str, u: User, role_name: str, *, names: bool) -> dict[str, Any]:
    """One role assignment (``include_names`` adds names and domains)."""
    uid = id_of(u)
    r: dict[str, Any] = {"id": role_name}
    who: dict[str, Any] = {"id": uid}
    scope: dict[str, Any] = {"id": u.project}
    if names:
        r["name"] = role_name
        who.update(name=u.name, domain=DOMAIN)
        scope.update(name=u.project, domain=DOMAIN)
    return {
        "role": r,
        "user": who,
        "scope": {"project": scope},
        "links": {"assignment": f"{base}/v3/projects/{u.project}/users/{uid}/roles/{role_name}"},
    }


def token(info: TokenInfo, catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The ``token`` body of POST/GET /v3/auth/tokens; ``catalog`` None leaves it out."""
    p = info.principal
    body: dict[str, Any] = {
        "methods": list(info.methods),
        "user": {
            "id": user_id(p.project, p.user, info.user_created),
            "name": p.user,
            "domain": DOMAIN,
            "password_expires_at": None,
        },
        "audit_ids": list(info.audit_ids),
        "expires_at": iso(p.expires or 0.0),
        "issued_at": iso(info.issued),
    }
    if info.scoped:
        body["project"] = {"id": p.project, "name": p.project, "domain": DOMAIN}
        body["is_domain"] = False
        body["roles"] = [{"id": r, "name": r} for r in effective_roles(p.roles[0])]
        if catalog is not None:
            body["catalog"] = catalog
    return body
