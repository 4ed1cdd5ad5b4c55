"""The embedded administrator that `stratus up` creates and prints.

On first start ``admin:admin`` (role admin in project ``admin``) gets a
generated key. Only its hash goes into the store, so the key is also kept in
``<data>/identity/admin.key`` (0600) for the launcher to print again on
later starts. ``STRATUS_ADMIN_KEY`` fixes the key instead: when set it is
applied (the stored hash is reset if it differs) and is not written to
disk, so later starts without it cannot print it. Likewise
``STRATUS_ADMIN_ACCESS_KEY`` / ``STRATUS_ADMIN_SECRET_KEY`` fix the admin's
S3 credential.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from stratus.identity.errors import AlreadyExists, IdentityError, NotFound
from stratus.identity.names import check_key

if TYPE_CHECKING:
    from stratus.identity.store import IdentityStore

ADMIN_KEY_ENV = "STRATUS_ADMIN_KEY"
ADMIN_ACCESS_ENV = "STRATUS_ADMIN_ACCESS_KEY"
ADMIN_SECRET_ENV = "STRATUS_ADMIN_SECRET_KEY"
ADMIN_KEY_FILE = "admin.key"


def ensure_admin(
    store: IdentityStore,
    project: str = "admin",
    user: str = "admin",
    key: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Make sure ``project:user`` exists with role admin; return its key.

    ``key`` (else ``$STRATUS_ADMIN_KEY``) fixes the key. Without one, a new
    user gets a generated key saved in admin.key; an existing user keeps its
    key, which is returned if admin.key still matches it, else None (the key
    was fixed by the environment earlier, or changed with `stratus user`).
    """
    env = os.environ if env is None else env
    if key is None:
        key = env.get(ADMIN_KEY_ENV) or None
    with contextlib.suppress(AlreadyExists):
        store.create_project(project)
    key_file = store.path / ADMIN_KEY_FILE
    if key is not None:
        check_key(key)
        try:
            store.create_user(project, user, role="admin", key=key)
        except AlreadyExists:
            _ensure_admin_role(store, project, user)
            if store.check_key(project, user, key) is None:
                store.set_key(project, user, key)
        if _read_key_file(key_file) != key:
            key_file.unlink(missing_ok=True)  # stale: a user-supplied key stays off disk
        return key
    try:
        key = store.create_user(project, user, role="admin")
    except AlreadyExists:
        _ensure_admin_role(store, project, user)
        saved = _read_key_file(key_file)
        if saved is not None and store.check_key(project, user, saved) is not None:
            return saved
        return None
    _write_key_file(key_file, key)
    return key


def ensure_admin_credential(
    store: IdentityStore,
    access: str | None = None,
    secret: str | None = None,
    *,
    project: str = "admin",
    user: str = "admin",
    env: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """The admin's S3 (access key, secret), created on first start.

    ``access``/``secret`` (else ``$STRATUS_ADMIN_ACCESS_KEY`` /
    ``$STRATUS_ADMIN_SECRET_KEY``) fix the pair, replacing the secret if it
    changed; otherwise the admin's oldest credential is returned, or a new
    one made. Run :func:`ensure_admin` first.
    """
    env = os.environ if env is None else env
    access = access or env.get(ADMIN_ACCESS_ENV) or None
    secret = secret or env.get(ADMIN_SECRET_ENV) or None
    if (access is None) != (secret is None):
        raise IdentityError(f"set both {ADMIN_ACCESS_ENV} and {ADMIN_SECRET_ENV}, or neither")
    store.get_user(project, user)  # NotFound: ensure_admin has not run
    if access is not None and secret is not None:
        try:
            known, principal = store.lookup_credential(access)
        except NotFound:
            return store.create_credential(project, user, access=access, secret=secret)
        if (principal.project, principal.user) != (project, user):
            raise AlreadyExists(f"access key {access} belongs to {principal.name}")
        if known != secret:
            store.delete_credential(access)
            store.create_credential(project, user, access=access, secret=secret)
        return access, secret
    mine = sorted(store.list_credentials(project, user), key=lambda c: c.created)
    for cred in mine:
        with contextlib.suppress(NotFound):
            return cred.access, store.lookup_credential(cred.access)[0]
    return store.create_credential(project, user)


def _ensure_admin_role(store: IdentityStore, project: str, user: str) -> None:
    if store.get_user(project, user).role != "admin":
        store.set_role(project, user, "admin")


def _read_key_file(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _write_key_file(path: Path, key: str) -> None:
    """Write atomically, 0600 from the start, durable before it is used."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (key + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
