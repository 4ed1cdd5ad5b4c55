"""Segmented objects: a small manifest object that stands for its segments, in order.

Large objects (S3 multipart uploads) are stored as ordinary segment objects
plus one manifest object, like Swift's static large objects: the manifest's
body lists the segments (container, name, size, ETag) and its system
metadata (``ObjectInfo.system``) marks it as a manifest and gives the whole
object's size and ETag, so a HEAD needs no second read. Reading a
manifest's bytes streams the segments one after the other; no segmented
object is ever held whole in memory.

The core reads through manifests (``get_object`` / ``head_object`` show the
whole object) unless asked for the manifest itself (``manifest=True``).
Listings cannot read bodies, so a manifest's content type carries the whole
size and ETag as parameters (``swift_bytes``, ``s3_etag``) that
:func:`strip_listing_params` removes for display.

The body is JSON with a format number (``{"format": 1, "segments": [...]}``);
:func:`decode` refuses formats it does not know.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from objectstore.proxy import errors
from objectstore.proxy.models import ObjectInfo
from objectstore.proxy.ranges import RangeSpec, resolve


class Getter(Protocol):
    """What reads the segments: the core, or its object part."""

    async def get_object(
        self, account: str, container: str, name: str, ranges: Any = None
    ) -> tuple[ObjectInfo, Any]: ...


FORMAT = 1
MARK = "manifest"  # system entry: the manifest format number
SIZE = "manifest-bytes"  # system entry: the whole object's size
ETAG = "manifest-etag"  # system entry: the whole object's ETag (as the writer defines it)
ENTRIES = (MARK, SIZE, ETAG)
MAX_SEGMENTS = 10000


@dataclass(frozen=True)
class Segment:
    container: str
    name: str
    size: int
    etag: str


def is_manifest(system: Mapping[str, str]) -> bool:
    return MARK in system


def encode(segments: Sequence[Segment]) -> bytes:
    rows = [[s.container, s.name, s.size, s.etag] for s in segments]
    return json.dumps({"format": FORMAT, "segments": rows}, separators=(",", ":")).encode()


def decode(data: bytes) -> list[Segment]:
    """The segments of a manifest body (InvalidInput when it is not one)."""
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise errors.InvalidInput(f"unknown manifest format {doc.get('format')!r}")
        out = [
            Segment(str(c), str(n), int(size), str(etag)) for c, n, size, etag in doc["segments"]
        ]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise errors.InvalidInput("corrupt manifest") from None
    if len(out) > MAX_SEGMENTS or any(s.size < 0 for s in out):
        raise errors.InvalidInput("corrupt manifest")
    return out


def system_entries(segments: Sequence[Segment], etag: str) -> dict[str, str]:
    """What a manifest object carries besides its body."""
    return {MARK: str(FORMAT), SIZE: str(sum(s.size for s in segments)), ETAG: etag}


def logical_size(system: Mapping[str, str], stored_size: int) -> int:
    try:
        return int(system[SIZE]) if MARK in system else stored_size
    except (KeyError, ValueError):
        return stored_size


def offsets(segments: Sequence[Segment]) -> list[tuple[int, int]]:
    """Each segment's half-open byte span within the whole object."""
    out = []
    pos = 0
    for s in segments:
        out.append((pos, pos + s.size))
        pos += s.size
    return out


class SegmentedBody:
    """The bytes of a segmented object, whole or in ranges, read segment by segment.

    The same interface as :class:`objectstore.proxy.reads.ObjectBody`:
    ``size`` (the whole object), ``ranges`` (None, or resolved half-open
    ranges), :meth:`select`, :meth:`chunks`, :meth:`range_chunks`,
    :meth:`read`, :meth:`close`. Each segment is read through the core (so
    replicas, handoffs and error limiting apply) and checked against the size
    and ETag the manifest recorded; a segment that is missing or changed ends
    the stream with an error rather than with wrong bytes.
    """

    def __init__(
        self,
        core: Getter,
        account: str,
        segments: Sequence[Segment],
        ranges: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        self.core = core
        self.account = account
        self.segments = list(segments)
        self.size = sum(s.size for s in self.segments)
        self.ranges = list(ranges) if ranges is not None else None
        self._current: Any = None

    def select(self, specs: Sequence[RangeSpec]) -> list[tuple[int, int]]:
        """Serve only these byte ranges (RangeNotSatisfiable when none is)."""
        resolved = resolve(specs, self.size)
        if not resolved:
            raise errors.RangeNotSatisfiable(self.size)
        self.ranges = resolved
        return resolved

    async def chunks(self) -> AsyncIterator[bytes]:
        """The whole object, or its only range."""
        start, stop = self.ranges[0] if self.ranges else (0, self.size)
        async for chunk in self.range_chunks(start, stop):
            yield chunk

    async def range_chunks(self, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes ``[start, stop)`` of the whole object."""
        for seg, (lo, hi) in zip(self.segments, offsets(self.segments), strict=True):
            if hi <= start or lo >= stop or seg.size == 0:
                continue
            first, last = max(start, lo) - lo, min(stop, hi) - lo - 1
            whole = first == 0 and last == seg.size - 1
            try:
                info, body = await self.core.get_object(
                    self.account, seg.container, seg.name, None if whole else [(first, last)]
                )
            except errors.NotFound:
                raise errors.ServiceUnavailable(f"segment {seg.name} is missing") from None
            self._current = body
            try:
                if info.size != seg.size or info.etag != seg.etag:
                    raise errors.ServiceUnavailable(f"segment {seg.name} changed")
                async for chunk in body.chunks():
                    yield chunk
            finally:
                body.close()
                self._current = None

    async def read(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


def present(info: ObjectInfo) -> ObjectInfo:
    """A manifest's info as the whole object: its size and ETag (other objects unchanged)."""
    if not is_manifest(info.system):
        return info
    return dataclasses.replace(
        info,
        size=logical_size(info.system, info.size),
        etag=info.system.get(ETAG, info.etag),
        content_type=strip_listing_params(info.content_type),
    )


def strip_listing_params(content_type: str) -> str:
    """Drop ``swift_bytes`` / ``s3_etag``, which only serve container listings."""
    if ";" not in content_type:
        return content_type
    keep = [
        p
        for p in content_type.split(";")
        if p.strip().partition("=")[0] not in ("swift_bytes", "s3_etag")
    ]
    return ";".join(keep)


async def open_segmented(
    core: Getter,
    account: str,
    info: ObjectInfo,
    manifest_body: Any,
    ranges: Sequence[RangeSpec] | None,
) -> tuple[ObjectInfo, SegmentedBody]:
    """Turn an opened manifest into the whole object's info and a body over its segments."""
    try:
        segments = decode(await manifest_body.read())
    finally:
        manifest_body.close()
    body = SegmentedBody(core, account, segments)
    if ranges is not None:
        body.select(ranges)
    return present(info), body
