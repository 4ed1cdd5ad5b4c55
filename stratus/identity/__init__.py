"""Identity: projects (storage accounts ``AUTH_<project>``), users with roles,
hashed keys, expiring tokens and S3 credentials, kept in LMDB under
``<data>/identity/``.

Servers call :meth:`IdentityStore.authenticate_token` (Swift tokens) and
:meth:`IdentityStore.lookup_credential` (S3); ``stratus.identity.tempauth``
serves GET /auth/v1.0 and ``stratus.identity.keystone`` the Keystone v3 API
(its tokens are the same tokens); the launcher calls
:meth:`IdentityStore.ensure_admin`.
"""

from __future__ import annotations

from pathlib import Path

from stratus.identity.admin import (
    ADMIN_ACCESS_ENV,
    ADMIN_KEY_ENV,
    ADMIN_KEY_FILE,
    ADMIN_SECRET_ENV,
    ensure_admin,
    ensure_admin_credential,
)
from stratus.identity.errors import AlreadyExists, IdentityError, InvalidName, NotFound
from stratus.identity.names import ROLES, parse_user_spec
from stratus.identity.records import Credential, Principal, Project, User
from stratus.identity.store import TOKEN_PREFIX, IdentityStore


def identity_dir(data_dir: str | Path) -> Path:
    """Where the identity store lives inside a data directory."""
    return Path(data_dir) / "identity"


__all__ = [
    "ADMIN_ACCESS_ENV",
    "ADMIN_KEY_ENV",
    "ADMIN_KEY_FILE",
    "ADMIN_SECRET_ENV",
    "ROLES",
    "TOKEN_PREFIX",
    "AlreadyExists",
    "Credential",
    "IdentityError",
    "IdentityStore",
    "InvalidName",
    "NotFound",
    "Principal",
    "Project",
    "User",
    "ensure_admin",
    "ensure_admin_credential",
    "identity_dir",
    "parse_user_spec",
]
