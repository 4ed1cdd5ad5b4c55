"""What a well-formed project, user, role, key and S3 credential look like.

Names end up in account names (``AUTH_<project>``), storage URLs and LMDB
keys built as ``project:user``, so they are restricted to a small URL-safe
alphabet without ``:``; checking them here, once, keeps every caller honest.
"""

from __future__ import annotations

import re
import secrets
import string

from stratus.identity.errors import InvalidName

ROLES = ("admin", "member", "reader", "acl-only")
"""Roles a user holds in its project, strongest first.

``admin``, ``member`` and ``reader`` keep Keystone's meaning (reader reads the
whole project). ``acl-only`` is Swift's ACL-only user (tempauth's non-admin
user, a Keystone user without an operator role): it has no rights of its
own in the project, only what container ACLs, bucket ACLs and bucket
policies grant its ``project:user``; block storage, images and compute
refuse it.
"""

PROJECT_ROLES = ("admin", "member", "reader")
"""The roles that give rights in the project by themselves."""

IMPLIED_ROLES: dict[str, tuple[str, ...]] = {"admin": ("member",), "member": ("reader",)}
"""Keystone's default role implications: a token lists a role and all it implies."""


def effective_roles(role: str) -> tuple[str, ...]:
    """``role`` and every role it implies, transitively (Keystone's token roles)."""
    out = [role]
    for r in out:
        out += [i for i in IMPLIED_ROLES.get(r, ()) if i not in out]
    return tuple(out)


_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ACCESS = re.compile(r"[A-Za-z0-9_.:@+=-]{3,128}")
# Keys and secrets travel in HTTP headers: printable ASCII, no spaces at the ends.
_PRINTABLE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
MAX_KEY_LENGTH = 256


_ALNUM = string.ascii_letters + string.digits


def random_key(length: int = 32) -> str:
    """A random key of letters and digits (no leading ``-`` to trip up CLIs)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def check_name(kind: str, name: object) -> str:
    """Return ``name`` if it is 1-64 chars of [A-Za-z0-9_.-]; raise InvalidName otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidName(
            f"invalid {kind} name {_shown(name)}: use 1-64 characters of A-Z a-z 0-9 _ . -"
        )
    return name


def check_role(role: object) -> str:
    if not isinstance(role, str) or role not in ROLES:
        raise InvalidName(f"invalid role {_shown(role)}: choose one of {', '.join(ROLES)}")
    return role


def check_key(key: object) -> str:
    """A user's key: 1-256 printable ASCII characters, no surrounding spaces."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _PRINTABLE.fullmatch(key):
        raise InvalidName(
            f"invalid key: use 1-{MAX_KEY_LENGTH} printable ASCII characters "
            "without leading or trailing spaces"
        )
    return key


def check_access_key(access: object) -> str:
    if not isinstance(access, str) or not _ACCESS.fullmatch(access):
        raise InvalidName(
            f"invalid access key {_shown(access)}: "
            "use 3-128 characters of A-Z a-z 0-9 _ . : @ + = -"
        )
    return access


def check_secret(secret: object) -> str:
    """An S3 secret: same alphabet as a key (it signs, it is never sent)."""
    if (
        not isinstance(secret, str)
        or len(secret) > MAX_KEY_LENGTH
        or not _PRINTABLE.fullmatch(secret)
    ):
        raise InvalidName(
            f"invalid secret key: use 1-{MAX_KEY_LENGTH} printable ASCII characters "
            "without leading or trailing spaces"
        )
    return secret


def parse_user_spec(spec: object) -> tuple[str, str]:
    """Split ``"project:user"`` (the X-Auth-User form) into checked names."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise InvalidName(f"invalid user {_shown(spec)}: write it as PROJECT:USER")
    project, user = spec.split(":")
    return check_name("project", project), check_name("user", user)


def _shown(value: object) -> str:
    """A bounded repr for error messages (never a key: callers pass names only)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
