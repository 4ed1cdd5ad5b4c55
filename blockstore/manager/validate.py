"""Checks of caller-supplied values, so bad input is refused before anything changes."""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from blockstore.manager.errors import BadRequest

MAX_NAME = 255
MAX_DESCRIPTION = 1024
MAX_METADATA_ITEMS = 128
MAX_LIMIT = 1000
_UUID_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def ident(value: Any, what: str) -> str:
    """An id as our records use it (uuid-like); anything else is BadRequest."""
    if not isinstance(value, str) or not _UUID_LIKE.match(value):
        raise BadRequest(f"Invalid {what} id {str(value)[:80]!r}.")
    return value


def lookup_id(value: str) -> bool:
    """Whether ``value`` could be one of our ids at all (else: not found, without a lookup)."""
    return bool(_UUID_LIKE.match(value))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def size_gb(value: Any, what: str = "size", *, maximum: int) -> int:
    """A positive whole number of GiB (Cinder accepts integers or integral strings)."""
    if isinstance(value, bool):
        raise BadRequest(f"Invalid input received: {what} must be an integer.")
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d+", value):
            raise BadRequest(f"Invalid input received: {what} must be an integer.")
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise BadRequest(f"Invalid input received: {what} must be an integer.")
    if value <= 0:
        raise BadRequest(
            f"Invalid input received: {what} must be an integer and greater than 0 (got {value})."
        )
    if value > maximum:
        raise BadRequest(f"Invalid input received: {what} must be <= {maximum} (got {value}).")
    return value


def text(value: Any, what: str, limit: int = MAX_NAME) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input received: {what} must be a string.")
    if len(value) > limit:
        raise BadRequest(f"Invalid input received: {what} is longer than {limit} characters.")
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise BadRequest(f"Invalid input received: {what} contains control characters.")
    return value


def metadata(value: Any, what: str = "metadata") -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input received: {what} must be an object.")
    if len(value) > MAX_METADATA_ITEMS:
        raise BadRequest(f"Invalid input received: at most {MAX_METADATA_ITEMS} {what} items.")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not 1 <= len(k) <= MAX_NAME:
            raise BadRequest(f"Invalid input received: {what} keys must be 1-255 characters.")
        if not isinstance(v, str) or len(v) > MAX_NAME:
            raise BadRequest(
                f"Invalid input received: {what} values must be strings of at most 255 characters."
            )
        out[k] = v
    return out


def boolean(value: Any, what: str) -> bool:
    """Cinder's lenient booleans: JSON true/false or the usual strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "t", "y"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off", "f", "n"):
        return False
    raise BadRequest(f"Invalid input received: {what} must be a boolean, not {value!r}.")


def limit(value: Any) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadRequest("Invalid input received: limit must be an integer.") from None
    if n < 0:
        raise BadRequest("Invalid input received: limit must be >= 0.")
    return min(n, MAX_LIMIT)


def one_source(*sources: Any) -> None:
    """A volume comes from at most one of a snapshot, a volume and an image."""
    if sum(s is not None for s in sources) > 1:
        raise BadRequest(
            "Invalid input received: give at most one of snapshot_id, source_volid and imageRef."
        )


def attach_mode(value: Any) -> Literal["rw", "ro"] | None:
    """An attachment's mode; none (Cinder 3.54) honours the volume's read-only flag."""
    if value in (None, "", "null"):
        return None
    if value == "rw" or value == "ro":
        return value
    raise BadRequest(f"Invalid input received: mode must be rw or ro, not {str(value)[:8]!r}.")


def retype_args(new_type: Any, policy: Any) -> tuple[str, Literal["never", "on-demand"] | None]:
    """``os-retype``'s new type and migration policy, checked in Cinder's order."""
    if policy not in (None, "never", "on-demand"):
        raise BadRequest("Invalid input received: migration_policy must be never or on-demand.")
    if not isinstance(new_type, str) or not new_type:
        raise BadRequest("Invalid input received: os-retype needs a new_type.")
    return new_type, policy
