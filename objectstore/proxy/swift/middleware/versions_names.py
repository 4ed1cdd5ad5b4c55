"""Where Swift's object versioning keeps versions: the hidden container and its names.

Swift keeps the versions of ``<container>`` in ``\\x00versions\\x00<container>``
(its reserved namespace: no client path may hold a NUL) under the names
``\\x00<object>\\x00<inverted timestamp>``. The core stores no NUL, so
Stratus reserves ``\\x01`` instead: a container name starting with it is
refused to clients (``constraints.split_path``: 412, as Swift answers a NUL)
and hidden from account listings. Entry names are::

    escape(object) + "\\x01\\x01" + inverted(version id)

``escape`` doubles nothing but ``\\x01`` (as ``\\x01\\x02``), so each
object's entries are contiguous and in object-name order, as Swift's are;
``inverted`` is ``9999999999.99999 - id`` in the same ``%016.5f`` form, so
each object's entries list newest first. A version id is the timestamp of
the write that made the version (``1796669413.50836``), as Swift's.
"""

from __future__ import annotations

from objectstore.proxy.swift.constraints import RESERVED
from objectstore.timestamp import Timestamp

SEP = RESERVED * 2
_ESCAPED = RESERVED + "\x02"
_TOP = 10**15 - 1  # 9999999999.99999 in ticks
_WIDTH = 16  # len("1796669413.50836")
NULL = "null"
DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


def versions_container(container: str) -> str:
    """The hidden container of ``container``'s versions (Swift's get_reserved_name)."""
    return f"{RESERVED}versions{RESERVED}{container}"


def parent_container(hidden: str) -> str | None:
    """The user container a hidden versions container belongs to (None: not one)."""
    head = f"{RESERVED}versions{RESERVED}"
    return hidden[len(head) :] if hidden.startswith(head) else None


def escape(name: str) -> str:
    return name.replace(RESERVED, _ESCAPED)


def unescape(name: str) -> str:
    return name.replace(_ESCAPED, RESERVED)


def _ticks(ts: Timestamp) -> int:
    return int(ts.normal.replace(".", ""))  # exact: %016.5f has five decimals


def inverted(version: Timestamp) -> str:
    return Timestamp.from_ticks(_TOP - _ticks(version)).normal


def entry_prefix(name: str) -> str:
    """Every entry of ``name`` (and only of ``name``) starts with this."""
    return escape(name) + SEP


def entry_name(name: str, version: Timestamp) -> str:
    return entry_prefix(name) + inverted(version)


def parse_entry(entry: str) -> tuple[str, str] | None:
    """(object name, version id) of an entry name; None for anything else."""
    head, sep, inv = entry.rpartition(SEP)
    if not sep or len(inv) != _WIDTH:
        return None
    try:
        ticks = _ticks(Timestamp(inv))
    except ValueError:
        return None
    return unescape(head), Timestamp.from_ticks(_TOP - ticks).normal


def parse_version(value: str) -> Timestamp | None:
    """A version id as Swift's ``Timestamp(version)`` reads it; None when it cannot."""
    try:
        return Timestamp(value)
    except (ValueError, TypeError):
        return None
