"""Stored identity values and the public shapes handed to callers.

Every LMDB value is one version byte followed by a msgpack map, so the
format can change later with a decoder that still reads the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from stratus.identity.errors import IdentityError
from stratus.identity.names import PROJECT_ROLES

RECORD_VERSION = 1
ACCOUNT_PREFIX = "AUTH_"


def encode(fields: dict[str, Any]) -> bytes:
    """A versioned value: version byte + msgpack map."""
    return bytes([RECORD_VERSION]) + msgpack.packb(fields, use_bin_type=True)


def decode(raw: bytes, kind: str) -> dict[str, Any]:
    """Read a value written by :func:`encode` (any version this code knows)."""
    if not raw:
        raise IdentityError(f"empty {kind} record")
    version = raw[0]
    if version != RECORD_VERSION:
        raise IdentityError(f"{kind} record has unknown format version {version}")
    try:
        value = msgpack.unpackb(raw[1:], raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise IdentityError(f"corrupt {kind} record: {exc}") from None
    if not isinstance(value, dict):
        raise IdentityError(f"corrupt {kind} record: not a map")
    return value


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user of a project, with its roles there.

    ``expires`` is the token's expiry (Unix seconds) when the principal came
    from a token, None when it came from a key or an S3 credential.
    """

    project: str
    user: str
    roles: tuple[str, ...]
    expires: float | None = None

    @property
    def account(self) -> str:
        """The storage account the project owns: ``AUTH_<project>``."""
        return ACCOUNT_PREFIX + self.project

    @property
    def name(self) -> str:
        """``project:user``, the form X-Auth-User uses."""
        return f"{self.project}:{self.user}"

    @property
    def is_admin(self) -> bool:
        """May manage its project's account (ACLs, metadata, containers)."""
        return "admin" in self.roles

    @property
    def can_write(self) -> bool:
        """May create, change and delete data in its project's account."""
        return "admin" in self.roles or "member" in self.roles

    @property
    def can_read(self) -> bool:
        """May read its project (admin, member, reader; not an ACL-only user)."""
        return any(role in PROJECT_ROLES for role in self.roles)

    @property
    def is_reseller_admin(self) -> bool:
        """An admin of the ``admin`` project: operator rights over every account.

        Identity only reports it; whether a service honours it is that
        service's policy.
        """
        return self.project == "admin" and self.is_admin


@dataclass(frozen=True)
class TokenInfo:
    """A live token as Keystone describes it: whose, since when, how obtained.

    ``scoped`` is False for an unscoped token (identity only: no service
    accepts it); ``user_created`` tells a user apart from a later one of the
    same name.
    """

    principal: Principal
    issued: float
    user_created: float
    scoped: bool = True
    methods: tuple[str, ...] = ("password",)
    audit_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    name: str
    created: float

    @property
    def account(self) -> str:
        return ACCOUNT_PREFIX + self.name


@dataclass(frozen=True)
class User:
    project: str
    name: str
    role: str
    created: float

    @property
    def spec(self) -> str:
        """``project:user``."""
        return f"{self.project}:{self.name}"


@dataclass(frozen=True)
class Credential:
    """An S3 access key and the user it acts as (listings omit the secret)."""

    access: str
    project: str
    user: str
    created: float
