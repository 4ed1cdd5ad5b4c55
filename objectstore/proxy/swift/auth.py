"""Who may do what: tokens, roles, reseller admins and container ACLs.

Policy (documented in the Swift compatibility notes):

- ``X-Auth-Token`` is checked with the identity store; a token that is
  unknown or expired is a 401 whatever the ACLs say.
- A principal owns its project's account ``AUTH_<project>``: every role may
  read it; ``admin`` and ``member`` may also write (create and delete
  containers and objects, change metadata); ``reader`` may not (403).
- Only ``admin`` may set or remove a container's ACLs (``X-Container-Read``,
  ``X-Container-Write``): an ACL makes data public or shares it with other
  projects, which is the project's decision, not every writer's (403).
- The cloud administrator (role ``admin`` in project ``admin``, Swift's
  reseller admin) acts as owner of every account.
- Anyone else, with a token or without, gets only what the container's ACLs
  grant: ``X-Container-Read`` for object GET/HEAD (``.r:*`` public,
  ``project:user``, ``project:*``...) and for listings (a referrer grant
  needs ``.rlistings`` too); ``X-Container-Write`` for object PUT, POST,
  DELETE and COPY. Container and account operations stay with the owner.
- Denied: 401 without a principal, 403 with one. A request without read
  access learns nothing of what exists: it is denied before any object or
  container is looked up (a container's ACLs are read to decide, but a
  missing container denies like one that grants nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from objectstore.proxy.acl import effective, read_granted, write_granted
from objectstore.proxy.models import ContainerInfo
from objectstore.proxy.swift.errors import SwiftError
from stratus.identity import IdentityStore, Principal

ACCOUNT_PREFIX = "AUTH_"
READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
TOKEN_CACHE_TTL = 5.0  # seconds a validated token is trusted without asking identity again
TOKEN_CACHE_MAX = 50_000


@dataclass(frozen=True)
class Access:
    """The outcome of authorization for one request."""

    principal: Principal | None
    owner: bool  # acts as the account's owner (sees ACL headers)
    writer: bool  # may change data in the account
    admin: bool = False  # may change who else has access (container ACLs)


class TokenCache:
    """Validated tokens, trusted for ``ttl`` seconds (never past their expiry).

    Saves an identity lookup per request. The price: a revoked token, or a
    changed role, may still be honoured for up to ``ttl`` seconds by this
    proxy (Swift's tempauth keeps tokens in memcache for longer).
    """

    def __init__(self, identity: IdentityStore, ttl: float = TOKEN_CACHE_TTL) -> None:
        self.identity = identity
        self.ttl = ttl
        self._hits: dict[str, tuple[float, Principal]] = {}

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of ``token``; SwiftError(401) for a bad or expired one."""
        if not token:
            return None
        now = self.identity.clock()
        hit = self._hits.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = self.identity.authenticate_token(token)
        if principal is None:
            self._hits.pop(token, None)
            raise SwiftError(401)
        if len(self._hits) >= TOKEN_CACHE_MAX:
            self._hits.clear()
        until = now + self.ttl
        if principal.expires is not None:
            until = min(until, principal.expires)
        self._hits[token] = (until, principal)
        return principal


#: ``ctx.environ`` key: a filter that verified a signed request (TempURL, FormPost) lets it
#: act in one account, or one container of it, whoever sent it: Swift's ``swift.authorize``
#: override (``authorize_same_account`` / ``authorize_same_container``).
SIGNED_SCOPE = "stratus.signed_scope"


@dataclass(frozen=True)
class SignedScope:
    account: str
    container: str | None = None  # None: every container of the account


def signed_access(environ: Mapping[str, Any], account: str, container: str) -> Access | None:
    """What a verified signature grants on ``account/container`` (None: nothing)."""
    scope = environ.get(SIGNED_SCOPE)
    if not isinstance(scope, SignedScope) or scope.account != account:
        return None
    if scope.container is not None and scope.container != container:
        return None
    return Access(None, False, True)


def deny(principal: Principal | None) -> SwiftError:
    return SwiftError(403 if principal is not None else 401)


def owner_access(principal: Principal | None, account: str) -> Access | None:
    """Access through ownership (own project or reseller admin), else None."""
    if principal is None or not account.startswith(ACCOUNT_PREFIX):
        return None
    if principal.is_reseller_admin:
        return Access(principal, True, True, True)
    if principal.account == account and principal.can_read:
        return Access(principal, True, principal.can_write, principal.is_admin)
    return None


def check_owner(access: Access | None, principal: Principal | None, method: str) -> Access:
    """Owners read; writers write; everyone else is denied."""
    if access is None:
        raise deny(principal)
    if method not in READ_METHODS and not access.writer:
        raise SwiftError(403)
    return access


def acl_access(
    principal: Principal | None,
    info: ContainerInfo | None,
    method: str,
    *,
    obj: bool,
    referer: str | None,
) -> Access:
    """Access granted by a container's ACLs to a non-owner (or raise 401/403)."""
    if info is not None:
        read_acl, write_acl = effective(info.read_acl, info.write_acl, info.system)
        if method in READ_METHODS:
            if read_granted(read_acl, principal, referer, listing=not obj):
                return Access(principal, False, False)
        elif obj and write_granted(write_acl, principal):
            return Access(principal, False, True)
    raise deny(principal)
