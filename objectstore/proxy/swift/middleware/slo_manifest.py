"""SLO manifests as clients write them and as Swift stores them.

A client PUTs ``[{"path": "/c/o", "etag": ..., "size_bytes": ..., "range":
"a-b"}, {"data": "<base64>"}, ...]``; :func:`parse` checks it as Swift's
``parse_and_validate_input`` does (every problem listed, one line each).
Each distinct path is then looked at (:func:`check_segment`, given what a
HEAD found) and the stored manifest is Swift's own: ``name``, ``bytes``,
``hash``, ``content_type``, ``last_modified`` (plus ``range`` and
``sub_slo``), the inline ``data`` kept as sent, serialised as Swift's
``json.dumps`` does, so its MD5 (the X-Manifest-Etag) is Swift's too.
The large object's ETag is the MD5 of the segments' ETags
(``etag:range;`` for a ranged one, the MD5 of the bytes for inline data).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from objectstore.proxy import manifest
from objectstore.proxy.models import ObjectInfo
from objectstore.proxy.ranges import resolve
from objectstore.proxy.swift.errors import SwiftError
from objectstore.proxy.swift.ranges import parse_range

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
_B64 = set(string.digits + string.ascii_letters + "/+")
TOO_SMALL = "too small; each segment must be at least 1 byte."


@dataclass
class Wanted:
    """One entry of a client's manifest, parsed."""

    index: int
    path: str = ""  # as the client wrote it (object-backed entries)
    etag: str | None = None
    size: int | None = None
    first: int | None = None  # the range, as swob parses it (None, n: the last n bytes)
    last: int | None = None
    ranged: bool = False
    data: bytes | None = None  # inline entries

    @property
    def container_object(self) -> tuple[str, str]:
        container, _, obj = self.path.lstrip("/").partition("/")
        return container, obj


def b64_strict(value: object) -> bytes:
    """Swift's strict_b64decode: only base64 characters, correct padding (ValueError)."""
    if not isinstance(value, str) or any(c not in _B64 for c in value.strip("=")):
        raise ValueError("not base64")
    try:
        return base64.b64decode(value)
    except binascii.Error:
        raise ValueError("not base64") from None


def parse(body: bytes, container: str, obj: str) -> list[Wanted]:
    """The client's manifest; SwiftError 400 with Swift's messages when it is wrong."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise SwiftError(400, "Manifest must be valid JSON.\n", content_type=_HTML) from None
    if not isinstance(doc, list):
        raise SwiftError(400, "Manifest must be a list.\n", content_type=_HTML)
    items: list[Any] = doc  # pyright: ignore[reportUnknownVariableType]
    errors: list[str] = []
    out: list[Wanted] = []
    for index, item in enumerate(items):
        problem = _entry(index, item, len(items), f"{container}/{obj}", out)
        if problem:
            errors.append(f"Index {index}: {problem}")
    if items and all(isinstance(i, dict) and "data" in i for i in items):
        errors.append("Inline data segments require at least one object-backed segment.")
    if errors:
        raise SwiftError(400, "".join(e + "\n" for e in errors), content_type="text/plain")
    return out


_HTML = "text/html; charset=UTF-8"


def _entry(index: int, item: Any, count: int, own: str, out: list[Wanted]) -> str | None:
    """Parse one entry into ``out``; the problem's wording when it is wrong."""
    if not isinstance(item, dict):
        return "not a JSON object"
    seg: dict[str, Any] = item  # pyright: ignore[reportUnknownVariableType]
    kind = "data" if "data" in seg else "path" if "path" in seg else None
    if kind is None:
        return "expected keys to include one of 'data' or 'path'"
    allowed = {"data"} if kind == "data" else {"path", "range", "etag", "size_bytes"}
    extra = sorted(k for k in seg if k not in allowed)
    if extra:
        return "extraneous keys " + ", ".join(json.dumps(k) for k in extra)
    if kind == "data":
        try:
            data = b64_strict(seg["data"])
        except ValueError:
            return "data must be valid base64"
        if not data:
            return TOO_SMALL
        out.append(Wanted(index, data=data))
        return None
    path, etag = seg["path"], seg.get("etag")
    if not isinstance(path, str):
        return '"path" must be a string'
    if etag is not None and not isinstance(etag, str):
        return '"etag" must be a string or null (if provided)'
    if "/" not in path.strip("/"):
        return "path does not refer to an object. Path must be of the form /container/object."
    wanted = Wanted(index, path=path, etag=etag)
    if seg.get("size_bytes") is not None:
        try:
            wanted.size = int(seg["size_bytes"])
        except (TypeError, ValueError):
            return "invalid size_bytes"
        if wanted.size < 1 and index != count - 1:
            return TOO_SMALL
    if path.lstrip("/") == own:
        return "manifest must not include itself as a segment"
    if seg.get("range"):
        specs = parse_range(f"bytes={seg['range']}") if isinstance(seg["range"], str) else None
        if specs is None:
            return "invalid range"
        if len(specs) > 1:
            return "multiple ranges (only one allowed)"
        wanted.first, wanted.last = specs[0]
        wanted.ranged = True
        if wanted.size is not None and len(resolve(specs, wanted.size)) != 1:
            return "unsatisfiable range"
    out.append(wanted)
    return None


@dataclass
class Checked:
    """A segment as it will be stored, and the problems found with it."""

    length: int
    entry: dict[str, Any]
    problems: list[tuple[str, str]]  # (quoted path, problem), as Swift lists them


def check_segment(wanted: Wanted, found: ObjectInfo | None, status: str, *, last: bool) -> Checked:
    """Swift's validate_seg_dict: the stored entry of ``wanted`` given what a HEAD found.

    ``found`` None: the HEAD failed with ``status`` ("404 Not Found"...).
    """
    name = quote(wanted.path)
    if found is None:
        return Checked(0, {}, [(name, status)])
    problems: list[str] = []
    size = found.size
    length = size
    rng: str | None = None
    if wanted.ranged:
        spans = resolve([(wanted.first, wanted.last)], size)
        if not spans:
            problems.append("Unsatisfiable Range")
        elif spans[0] != (0, size):
            start, stop = spans[0]
            rng, length = f"{start}-{stop - 1}", stop - start
    if length < 1 and not last:
        problems.append("Too small; each segment must be at least 1 byte.")
    if wanted.size is not None and wanted.size != size:
        problems.append("Size Mismatch")
    if wanted.etag is not None and wanted.etag != found.etag:
        problems.append("Etag Mismatch")
    entry: dict[str, Any] = {
        "name": "/" + wanted.path.lstrip("/"),
        "bytes": size,
        "hash": found.etag,
        "content_type": found.content_type.split(";")[0],
        "last_modified": _last_modified(found),
    }
    if rng is not None:
        entry["range"] = rng
    if manifest.is_slo(found.system) and found.manifest_etag is not None:
        entry["sub_slo"] = True
    return Checked(length, entry, [(name, p) for p in problems])


def _last_modified(info: ObjectInfo) -> str:
    """The segment's Last-Modified (whole seconds, rounded up) in Swift's listing form."""
    from datetime import UTC, datetime
    from math import ceil

    moment = datetime.fromtimestamp(ceil(float(info.last_modified)), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def data_entry(wanted: Wanted) -> dict[str, Any]:
    assert wanted.data is not None
    return {"data": base64.b64encode(wanted.data).decode("ascii")}


def slo_etag(entries: list[dict[str, Any]]) -> str:
    """The large object's ETag: the MD5 of its segments' ETags, as Swift computes it."""
    md5 = hashlib.md5()
    for entry in entries:
        if "data" in entry:
            part = hashlib.md5(base64.b64decode(entry["data"])).hexdigest()
        elif entry.get("range"):
            part = f"{entry['hash']}:{entry['range']};"
        else:
            part = str(entry["hash"])
        md5.update(part.encode("ascii"))
    return md5.hexdigest()


def stored_body(entries: list[dict[str, Any]]) -> bytes:
    """The manifest as Swift stores it (``json.dumps`` with its default separators)."""
    return json.dumps(entries).encode("utf-8")


def client_form(stored: bytes) -> bytes:
    """``?multipart-manifest=get&format=raw``: the stored manifest in the form a client PUTs."""
    try:
        entries = json.loads(stored)
    except ValueError:
        raise SwiftError(500, "Unable to load SLO manifest") from None
    for entry in entries:
        if "data" in entry:
            continue
        for key in ("content_type", "last_modified", "sub_slo"):
            entry.pop(key, None)
        entry["path"] = entry.pop("name", None)
        entry["size_bytes"] = entry.pop("bytes", None)
        entry["etag"] = entry.pop("hash", None)
    return json.dumps(entries, sort_keys=True).encode("utf-8")
