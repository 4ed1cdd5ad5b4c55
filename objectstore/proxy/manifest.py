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
:func:`decode` refuses formats it does not know. Swift's static large
objects keep the manifest Swift itself stores (a JSON list of ``name``,
``bytes``, ``hash``, optional ``range`` and ``sub_slo``, or inline ``data``)
so that it can be handed back as stored; their ``manifest`` entry is
``slo`` and :func:`load` reads either form. A segment may then use a byte
range of its object, be inline bytes, or be a manifest of the same kind
itself (read through, at most :data:`MAX_DEPTH` deep).
"""

from __future__ import annotations

import base64
import binascii
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
        self, account: str, container: str, name: str, ranges: Any = None, *, raw: bool = False
    ) -> tuple[ObjectInfo, Any]: ...


FORMAT = 1
SLO = "slo"  # the ``manifest`` entry of a manifest stored in Swift's own form
MARK = "manifest"  # system entry: the manifest format (FORMAT, or SLO)
SIZE = "manifest-bytes"  # system entry: the whole object's size
ETAG = "manifest-etag"  # system entry: the whole object's ETag (as the writer defines it)
ENTRIES = (MARK, SIZE, ETAG)
MAX_SEGMENTS = 10000
MAX_DEPTH = 10  # manifests within manifests (Swift's max_slo_recursion_depth)
S3_CHECKSUM = "s3_checksum"  # S3's checksum algorithm and type, for its listings
LISTING_PARAMS = ("swift_bytes", "s3_etag", "slo_etag", S3_CHECKSUM)  # only for listings
OBJECT_PARAMS = (S3_CHECKSUM,)  # listing parameters any object may carry, not only a manifest


class SegmentError(errors.ServiceUnavailable):
    """A segment is missing, or not what the manifest recorded: the object cannot be read."""


@dataclass(frozen=True)
class Segment:
    """One piece of a segmented object.

    ``size`` and ``etag`` describe the whole segment object; ``first`` and
    ``stop`` the bytes of it that are used (Swift's ``range``; ``stop`` None:
    to its end). ``nested``: the object is a manifest of the same kind, read
    through. ``data``: inline bytes, no object at all.
    """

    container: str
    name: str
    size: int
    etag: str
    first: int = 0
    stop: int | None = None
    nested: bool = False
    data: bytes | None = None

    @property
    def length(self) -> int:
        """The bytes this segment gives the whole object."""
        if self.data is not None:
            return len(self.data)
        return (self.size if self.stop is None else self.stop) - self.first


def is_manifest(system: Mapping[str, str]) -> bool:
    return MARK in system


def is_slo(system: Mapping[str, str]) -> bool:
    """A manifest in Swift's own form (a static large object)."""
    return system.get(MARK) == SLO


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


def decode_slo(data: bytes) -> list[Segment]:
    """The segments of a manifest in Swift's form (InvalidInput when it is not one)."""
    try:
        doc = json.loads(data)
        if not isinstance(doc, list):
            raise TypeError
        out = [_slo_segment(item) for item in doc]
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
        raise errors.InvalidInput("corrupt manifest") from None
    if len(out) > MAX_SEGMENTS:
        raise errors.InvalidInput("corrupt manifest")
    return out


def _slo_segment(item: dict[str, Any]) -> Segment:
    if "data" in item:
        raw = base64.b64decode(item["data"], validate=True)
        return Segment("", "", len(raw), "", data=raw)
    container, _, name = str(item["name"]).lstrip("/").partition("/")
    size = int(item["bytes"])
    first, stop = 0, None
    if item.get("range"):
        lo, _, hi = str(item["range"]).partition("-")
        first, stop = int(lo), int(hi) + 1
        if not 0 <= first < stop:
            raise ValueError("bad range")
    if not container or not name or size < 0:
        raise ValueError("bad segment")
    return Segment(
        container, name, size, str(item["hash"]), first, stop, nested=bool(item.get("sub_slo"))
    )


def load(system: Mapping[str, str], data: bytes) -> list[Segment]:
    """The segments of a manifest object's body, in whichever form it was stored."""
    return decode_slo(data) if is_slo(system) else decode(data)


def system_entries(segments: Sequence[Segment], etag: str) -> dict[str, str]:
    """What a manifest object carries besides its body."""
    return {MARK: str(FORMAT), SIZE: str(sum(s.length for s in segments)), ETAG: etag}


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
        out.append((pos, pos + s.length))
        pos += s.length
    return out


class SegmentedBody:
    """The bytes of a segmented object, whole or in ranges, read segment by segment.

    The same interface as :class:`objectstore.proxy.reads.ObjectBody`:
    ``size`` (the whole object), ``ranges`` (None, or resolved half-open
    ranges), :meth:`select`, :meth:`chunks`, :meth:`range_chunks`,
    :meth:`read`, :meth:`close`. Each segment is read through the core (so
    replicas, handoffs and error limiting apply) and checked against the size
    and ETag the manifest recorded; a segment that is missing or changed ends
    the stream with a :class:`SegmentError` rather than with wrong bytes.
    ``check_etag=False`` takes whatever same-sized bytes the segments hold
    now (Swift's dynamic large objects, whose listing is the only record).
    """

    def __init__(
        self,
        core: Getter,
        account: str,
        segments: Sequence[Segment],
        ranges: Sequence[tuple[int, int]] | None = None,
        *,
        depth: int = 1,
        check_etag: bool = True,
    ) -> None:
        self.core = core
        self.account = account
        self.segments = list(segments)
        self.size = sum(s.length for s in self.segments)
        self.ranges = list(ranges) if ranges is not None else None
        self.depth = depth
        self.check_etag = check_etag
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
            if hi <= start or lo >= stop or seg.length == 0:
                continue
            first, last = max(start, lo) - lo, min(stop, hi) - lo - 1
            if seg.data is not None:
                yield seg.data[first : last + 1]
                continue
            if seg.nested:
                async for chunk in self._nested(seg, seg.first + first, seg.first + last + 1):
                    yield chunk
                continue
            async for chunk in self._object(seg, seg.first + first, seg.first + last):
                yield chunk

    async def _object(self, seg: Segment, first: int, last: int) -> AsyncIterator[bytes]:
        """Bytes ``first..last`` (inclusive) of one segment object."""
        whole = first == 0 and last == seg.size - 1
        try:
            info, body = await self.core.get_object(
                self.account, seg.container, seg.name, None if whole else [(first, last)]
            )
        except errors.NotFound:
            raise SegmentError(f"segment {seg.container}/{seg.name} is missing") from None
        except errors.RangeNotSatisfiable:
            raise SegmentError(f"segment {seg.container}/{seg.name} is too short") from None
        self._current = body
        try:
            if info.size != seg.size or (self.check_etag and info.etag != seg.etag):
                raise SegmentError(f"segment {seg.container}/{seg.name} changed")
            async for chunk in body.chunks():
                yield chunk
        finally:
            body.close()
            self._current = None

    async def _nested(self, seg: Segment, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes ``[start, stop)`` of a segment that is a manifest itself."""
        if self.depth >= MAX_DEPTH:
            raise SegmentError("manifests nested too deep")
        try:
            info, body = await self.core.get_object(self.account, seg.container, seg.name, raw=True)
        except errors.NotFound:
            raise SegmentError(f"segment {seg.container}/{seg.name} is missing") from None
        try:
            data = await body.read()
        finally:
            body.close()
        if not is_manifest(info.system):
            raise SegmentError(f"segment {seg.container}/{seg.name} is no manifest")
        child = SegmentedBody(
            self.core, self.account, load(info.system, data), depth=self.depth + 1
        )
        self._current = child
        try:
            async for chunk in child.range_chunks(start, stop):
                yield chunk
        finally:
            child.close()
            self._current = None

    async def read(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


def present(info: ObjectInfo) -> ObjectInfo:
    """A manifest's info as the whole object: its size and ETag (other objects: their
    content type without the listing parameters any object may carry)."""
    if not is_manifest(info.system):
        shown = strip_object_params(info.content_type)
        return info if shown == info.content_type else dataclasses.replace(info, content_type=shown)
    return dataclasses.replace(
        info,
        size=logical_size(info.system, info.size),
        etag=info.system.get(ETAG, info.etag),
        content_type=strip_listing_params(info.content_type),
        manifest_etag=info.etag,
    )


def strip_listing_params(content_type: str) -> str:
    """Drop ``swift_bytes`` / ``s3_etag`` / ``slo_etag``, which only serve listings."""
    return split_listing_params(content_type)[0]


def strip_object_params(content_type: str) -> str:
    """Drop the listing parameters any object may carry (``OBJECT_PARAMS``)."""
    if ";" not in content_type:
        return content_type
    kept = [
        p
        for i, p in enumerate(content_type.split(";"))
        if not i or p.strip().partition("=")[0] not in OBJECT_PARAMS
    ]
    return ";".join(kept)


def with_listing_params(content_type: str, stored: str) -> str:
    """A manifest's new content type, keeping the listing parameters of the ``stored`` one."""
    base, _params = split_listing_params(content_type)
    _old, params = split_listing_params(stored)
    return base + "".join(f";{k}={v}" for k, v in params.items())


def split_listing_params(content_type: str) -> tuple[str, dict[str, str]]:
    """A content type without its listing parameters, and those parameters."""
    if ";" not in content_type:
        return content_type, {}
    keep: list[str] = []
    found: dict[str, str] = {}
    for i, p in enumerate(content_type.split(";")):
        key, _, value = p.strip().partition("=")
        if i and key in LISTING_PARAMS:
            found[key] = value
        else:
            keep.append(p)
    return ";".join(keep), found


async def open_segmented(
    core: Getter,
    account: str,
    info: ObjectInfo,
    manifest_body: Any,
    ranges: Sequence[RangeSpec] | None,
) -> tuple[ObjectInfo, SegmentedBody]:
    """Turn an opened manifest into the whole object's info and a body over its segments."""
    try:
        segments = load(info.system, await manifest_body.read())
    finally:
        manifest_body.close()
    body = SegmentedBody(core, account, segments)
    if ranges is not None:
        body.select(ranges)
    return present(info), body
