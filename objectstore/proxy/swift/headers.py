"""Swift headers to the core's neutral metadata, and back.

``X-<Type>-Meta-<Name>`` carries user metadata (names stored lower-case,
sent back title-cased as Swift does); ``X-Remove-<Type>-Meta-<Name>`` and an
empty value remove a name. Objects also keep a few content attributes
(Content-Encoding, Content-Disposition, ...). Container ACLs travel as
``X-Container-Read`` / ``X-Container-Write`` and are kept as the system
entries ``read-acl`` / ``write-acl``.
"""

from __future__ import annotations

from collections.abc import Mapping

from objectstore.proxy.models import CONTENT_ATTRIBUTES
from objectstore.proxy.swift.acl import clean_acl
from objectstore.proxy.swift.constraints import MAX_ACL_LENGTH, blen
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.timestamp import wall_clock

ATTRIBUTE_HEADERS = {
    name: "-".join(p.capitalize() for p in name.split("-")) for name in CONTENT_ATTRIBUTES
}
ACL_HEADERS = (("x-container-read", "read-acl"), ("x-container-write", "write-acl"))
# Kept like the content attributes by Swift's object server (its allowed_headers): a PUT
# or POST sets it, a POST without it drops it. It makes a dynamic large object (dlo).
OBJECT_MANIFEST = "x-object-manifest"
SWIFT_ATTRIBUTES = (*CONTENT_ATTRIBUTES, OBJECT_MANIFEST)
MAX_DELETE_AT = 9999999999  # Swift clamps X-Delete-At here (normalize_delete_at_timestamp)


def storable(text: str) -> str:
    """Header text with bytes that were not UTF-8 (object metadata takes them, as Swift's
    does) as U+FFFD: the nodes and the answers carry UTF-8 only, where Swift keeps the raw
    bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def title(name: str) -> str:
    """``color-code`` -> ``Color-Code`` (how Swift spells header names)."""
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))


def user_metadata(headers: Mapping[str, str], target: str, *, removals: bool) -> dict[str, str]:
    """User metadata from ``X-<target>-Meta-*`` (and, with ``removals``, X-Remove-...)."""
    prefix = f"x-{target}-meta-"
    remove = f"x-remove-{target}-meta-"
    out: dict[str, str] = {}
    for key, value in headers.items():
        low = key.lower()
        if low.startswith(prefix):
            out[storable(low[len(prefix) :])] = storable(value.strip())
        elif removals and low.startswith(remove) and len(low) > len(remove):
            out.setdefault(low[len(remove) :], "")
    return out


def meta_headers(user: Mapping[str, str], target: str) -> dict[str, str]:
    """Response headers for stored user metadata."""
    prefix = f"X-{target.capitalize()}-Meta-"
    return {prefix + title(k): v for k, v in user.items()}


def content_attributes(headers: Mapping[str, str]) -> dict[str, str]:
    """The content attributes an object PUT or POST carries."""
    out: dict[str, str] = {}
    for name in SWIFT_ATTRIBUTES:
        value = headers.get(name)
        if value is not None:
            out[name] = value
    return out


def attribute_headers(attributes: Mapping[str, str]) -> dict[str, str]:
    return {ATTRIBUTE_HEADERS.get(k, title(k)): v for k, v in attributes.items()}


def acl_entries(headers: Mapping[str, str]) -> dict[str, str]:
    """Cleaned ACLs from X-Container-Read/Write (X-Remove-...: cleared); 400 if invalid."""
    out: dict[str, str] = {}
    for header, key in ACL_HEADERS:
        if headers.get("x-remove-" + header[2:]) is not None:
            out[key] = ""
        value = headers.get(header)
        if value is None:
            continue
        try:
            cleaned = clean_acl(header, value)
        except ValueError as exc:
            raise SwiftError(400, str(exc), content_type=HTML) from None  # as clean_acls
        if blen(cleaned) > MAX_ACL_LENGTH:
            raise SwiftError(400, f"ACL longer than {MAX_ACL_LENGTH} bytes: {header}")
        out[key] = cleaned
    return out


def acl_headers(system: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if system.get("read-acl"):
        out["X-Container-Read"] = system["read-acl"]
    if system.get("write-acl"):
        out["X-Container-Write"] = system["write-acl"]
    return out


def delete_at(headers: Mapping[str, str], now: float | None = None) -> int | None:
    """X-Delete-At, or X-Delete-After from now, as Swift's check_delete_headers reads them.

    Both are integers (400 "Non-integer ..." otherwise), clamped to
    0..9999999999; the time they name must be after now, so an
    X-Delete-After of 0 or less is "X-Delete-After in past".
    """
    now = wall_clock() if now is None else now
    after = headers.get("X-Delete-After")
    at = headers.get("X-Delete-At")
    if after is not None:
        try:
            seconds = int(after)
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-After") from None
        when = _clamp(now + seconds) if abs(seconds) < 10**12 else _clamp(seconds)
        if when <= now:
            raise SwiftError(400, "X-Delete-After in past")
        return when
    if at is not None:
        try:
            when = _clamp(int(at))
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-At") from None
        if when <= now:
            raise SwiftError(400, "X-Delete-At in past")
        return when
    return None


def _clamp(when: float) -> int:
    """normalize_delete_at_timestamp: whole seconds within 0..9999999999."""
    return int(min(max(0.0, when), MAX_DELETE_AT))


def truthy(value: str | None) -> bool:
    """Swift's config_true_value: true, 1, yes, on, t, y."""
    return (value or "").strip().lower() in ("true", "1", "yes", "on", "t", "y")
