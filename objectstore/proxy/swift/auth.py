"""Who may do what: tokens, roles, reseller admins and container ACLs.

Policy (documented in the Swift compatibility notes):

- ``X-Auth-Token`` is checked with the identity store; a token that is
  unknown or expired is a 401 whatever the ACLs say.
- A principal owns its project's account ``AUTH_<project>``: every role may
  read it; ``admin`` and ``member`` may also write (create and delete
  containers and objects, change metadata and ACLs); ``reader`` may not (403).
- The cloud administrator (role ``admin`` in project ``admin``, Swift's
  reseller admin) acts as owner of every account.
- Anyone else, with a token or without, gets only what the container's ACLs
  grant: ``X-Container-Read`` for object GET/HEAD (``.r:*`` public,
  ``project:user``, ``project:*``...) and for listings (a referrer grant
  needs ``.rlistings`` too); ``X-Container-Write`` for object PUT, POST,
  DELETE and COPY. Container and account operations stay with the owner.
- Denied: 401 without a principal, 403 with one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from objectstore.proxy.models import ContainerInfo
from objectstore.proxy.swift.acl import Acl
from objectstore.proxy.swift.errors import SwiftError

ACCOUNT_PREFIX = "AUTH_"
READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


@dataclass(frozen=True)
class Access:
    """The outcome of authorization for one request."""

    principal: Any | None
    owner: bool  # acts as the account's owner (sees ACL headers, may manage)
    writer: bool  # may change data in the account


def authenticate(identity: Any, token: str | None) -> Any | None:
    """The principal of ``token``; SwiftError(401) for a bad or expired one."""
    if not token:
        return None
    principal = identity.authenticate_token(token)
    if principal is None:
        raise SwiftError(401)
    return principal


def deny(principal: Any | None) -> SwiftError:
    return SwiftError(403 if principal is not None else 401)


def owner_access(principal: Any | None, account: str) -> Access | None:
    """Access through ownership (own project or reseller admin), else None."""
    if principal is None or not account.startswith(ACCOUNT_PREFIX):
        return None
    if principal.is_reseller_admin:
        return Access(principal, True, True)
    if principal.account == account and principal.can_read:
        return Access(principal, True, principal.can_write)
    return None


def check_owner(access: Access | None, principal: Any | None, method: str) -> Access:
    """Owners read; writers write; everyone else is denied."""
    if access is None:
        raise deny(principal)
    if method not in READ_METHODS and not access.writer:
        raise SwiftError(403)
    return access


def acl_access(
    principal: Any | None,
    info: ContainerInfo | None,
    method: str,
    *,
    obj: bool,
    referer: str | None,
) -> Access:
    """Access granted by a container's ACLs to a non-owner (or raise 401/403)."""
    if info is not None:
        if method in READ_METHODS:
            acl = Acl.parse(info.read_acl)
            if acl.referrer_allowed(referer) and (obj or acl.listings):
                return Access(principal, False, False)
            if principal is not None and acl.grants(principal):
                return Access(principal, False, False)
        elif obj:
            acl = Acl.parse(info.write_acl)
            if principal is not None and acl.grants(principal):
                return Access(principal, False, True)
    raise deny(principal)
