"""How the core lays its metadata out in the storage node's flat ``str -> str`` map.

One map per object, container or account. User metadata keys carry the
``m:`` prefix; everything else (content attributes such as
``content-encoding``, container ACLs ``read-acl`` / ``write-acl``, state a
protocol front-end keeps) is stored under its bare lower-case name, which
never starts with ``m:``. The layout is the same whichever API wrote the
object, so the native and the S3 APIs see one set of metadata.
"""

from __future__ import annotations

from collections.abc import Mapping

USER = "m:"


def pack(user: Mapping[str, str], system: Mapping[str, str]) -> dict[str, str]:
    """One node map from user metadata and system entries (empty values kept)."""
    out = {USER + k.lower(): v for k, v in user.items()}
    for key, value in system.items():
        key = key.lower()
        if key.startswith(USER):
            raise ValueError(f"system metadata key {key!r} uses the user prefix")
        out[key] = value
    return out


def pack_set(user: Mapping[str, str], system: Mapping[str, str]) -> dict[str, str]:
    """Like :func:`pack`, dropping empty values: what a PUT stores."""
    return {k: v for k, v in pack(user, system).items() if v != ""}


def unpack(stored: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split a node map into (user metadata, system entries)."""
    user: dict[str, str] = {}
    system: dict[str, str] = {}
    for key, value in stored.items():
        if key.startswith(USER):
            user[key[len(USER) :]] = value
        else:
            system[key] = value
    return user, system
