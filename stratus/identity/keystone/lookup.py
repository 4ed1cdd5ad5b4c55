"""Finding users and projects by Keystone id or name.

User names are unique per project in Stratus, not per domain as in
Keystone, so a name may match several users; the request's project scope
(or the form ``project:user``) tells them apart.
"""

from __future__ import annotations

from typing import Any

from stratus.identity.errors import IdentityError, NotFound
from stratus.identity.keystone.shapes import DOMAIN_ID, DOMAIN_NAME, id_of
from stratus.identity.records import Project, User
from stratus.identity.store import IdentityStore


def is_default_domain(ref: Any) -> bool:
    """Whether a ``{"id": ...}`` / ``{"name": ...}`` reference names the one domain."""
    if not isinstance(ref, dict):
        return False
    if "id" in ref:
        return ref["id"] == DOMAIN_ID
    return ref.get("name") in (DOMAIN_NAME, DOMAIN_ID)


def user_by_id(store: IdentityStore, uid: str) -> User | None:
    if not isinstance(uid, str) or len(uid) != 32:
        return None
    for u in store.list_users():
        if id_of(u) == uid:
            return u
    return None


def users_named(store: IdentityStore, name: str) -> list[User]:
    """Users called ``name`` (or the one ``project:user`` names)."""
    if name.count(":") == 1:
        project, _, user = name.partition(":")
        try:
            return [store.get_user(project, user)]
        except IdentityError:
            return []
    return [u for u in store.list_users() if u.name == name]


def pick_user(candidates: list[User], project: str | None) -> User | None:
    """The one candidate, or the one in ``project`` when several share a name."""
    if project is not None:
        mine = [u for u in candidates if u.project == project]
        if len(mine) == 1:
            return mine[0]
    return candidates[0] if len(candidates) == 1 else None


def project_named(store: IdentityStore, name: str) -> Project | None:
    try:
        return store.get_project(name)
    except (NotFound, IdentityError):
        return None
