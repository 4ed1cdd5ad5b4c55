"""A bucket's S3 text kept in container system metadata, longer than one value may be.

A storage node keeps metadata values of at most ``wire.MAX_META_VALUE``
bytes and takes at most ``wire.MAX_META_OVERALL`` bytes in one request, but
some S3 documents are longer (a bucket policy may be 20 KB). A short text is
stored under its key as it is; a long one is cut into parts under
``<key>.<digest>.<n>``, written first, one request each, and the key then
names them (``parts:<digest>:<count>``). Parts are named by the text's
digest, so two writers racing never mix their parts: the key written last
wins, whole. A reader that sees the key but not all its parts (a replica
still catching up) gets :class:`Incomplete`, so that it fails closed, never
a partial document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Protocol

from objectstore.common import wire
from s3compat.errors import S3Error

PART_BYTES = wire.MAX_META_VALUE - 96  # room under the node's limits for the part's key
_PARTS = "parts:"


class Poster(Protocol):
    """What writes container metadata: the proxy core."""

    async def post_container(
        self, account: str, container: str, *, system: Mapping[str, str] | None = None
    ) -> None: ...


class Incomplete(Exception):
    """The key names parts this copy of the metadata does not (yet) hold whole."""


def fits(text: str) -> bool:
    """Is ``text`` stored as it is, in one value (no parts)?"""
    return len(text.encode("utf-8")) <= wire.MAX_META_VALUE and not text.startswith(_PARTS)


def _split(text: str, size: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``size`` UTF-8 bytes, never inside a character."""
    pieces: list[str] = []
    start = used = 0
    for i, ch in enumerate(text):
        n = len(ch.encode("utf-8"))
        if used + n > size:
            pieces.append(text[start:i])
            start, used = i, 0
        used += n
    pieces.append(text[start:])
    return pieces


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _part_keys(key: str, head: str | None) -> list[str]:
    """The part keys ``head`` (the key's stored value) names."""
    if not head or not head.startswith(_PARTS):
        return []
    digest, _, count = head[len(_PARTS) :].partition(":")
    if not count.isdigit():
        return []
    return [f"{key}.{digest}.{i}" for i in range(int(count))]


_VERIFIED: dict[tuple[str, str], str] = {}  # (key, head) -> text already joined and checked
_VERIFIED_MAX = 64


def read(system: Mapping[str, str], key: str) -> str | None:
    """The text stored under ``key`` (None when there is none; Incomplete: parts missing).

    A text once joined and checked is kept: a part's key names the text's digest
    and is written once, so while every part is there the text is the same
    (a request in a bucket with a 1 MiB lifecycle skips the join and the hash).
    """
    head = system.get(key)
    if not head:
        return None
    if not head.startswith(_PARTS):
        return head
    keys = _part_keys(key, head)
    known = _VERIFIED.get((key, head))
    if known is not None and keys and all(system.get(k) for k in keys):
        return known
    pieces = [system.get(k) for k in keys]
    text = "".join(p for p in pieces if p is not None)
    if not keys or None in pieces or _digest(text) != head[len(_PARTS) :].partition(":")[0]:
        raise Incomplete(key)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.pop(next(iter(_VERIFIED)))
    _VERIFIED[(key, head)] = text
    return text


def text_of(system: Mapping[str, str], key: str) -> str | None:
    """:func:`read` for a request: 503 ServiceUnavailable while a replica lacks a part."""
    try:
        return read(system, key)
    except Incomplete:
        raise S3Error("ServiceUnavailable") from None


def _batches(items: Mapping[str, str]) -> list[dict[str, str]]:
    """``items`` in groups one node request takes (its item count and overall size)."""
    out: list[dict[str, str]] = [{}]
    used = 0
    for k, v in items.items():
        n = len(k.encode("utf-8")) + len(v.encode("utf-8"))
        if out[-1] and (used + n > wire.MAX_META_OVERALL or len(out[-1]) >= wire.MAX_META_COUNT):
            out.append({})
            used = 0
        out[-1][k] = v
        used += n
    return out


async def write(
    core: Poster,
    account: str,
    container: str,
    key: str,
    text: str,
    system: Mapping[str, str],
    *,
    also: Mapping[str, str] | None = None,
) -> None:
    """Store ``text`` under ``key`` ("" removes it); ``system``: the metadata as it was.

    ``also``: other (short) keys set in the same request as the key itself,
    so that a reader sees them change together with the text. Requests go
    parts first, then the key, then removals of the parts it no longer names.
    """
    old = _part_keys(key, system.get(key))
    head, new = text, {}
    if not fits(text):
        digest, pieces = _digest(text), _split(text, PART_BYTES)
        new = {f"{key}.{digest}.{i}": piece for i, piece in enumerate(pieces)}
        head = f"{_PARTS}{digest}:{len(pieces)}"
    for batch in _batches(new):
        if batch:
            await core.post_container(account, container, system=batch)
    await core.post_container(account, container, system={**(also or {}), key: head})
    for batch in _batches({k: "" for k in old if k not in new}):
        if batch:
            await core.post_container(account, container, system=batch)
