"""Account and container listings in Swift's three formats: plain, json, xml.

The format comes from ``?format=`` (json, xml, plain; anything else means
plain), else from the Accept header; nothing acceptable is a 406. An empty
plain listing is a 204, as in Swift; json and xml always carry a document.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.etree.ElementTree import Element, SubElement, tostring

from aiohttp import web

from objectstore.proxy.models import ContainerRow, ListParams, ObjectRow, SubdirRow
from objectstore.proxy.swift.constraints import listing_limit
from objectstore.proxy.swift.errors import SwiftError

FORMATS = {"plain": "text/plain", "json": "application/json", "xml": "application/xml"}
OFFERED = ("text/plain", "application/json", "application/xml", "text/xml")
XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def listing_type(format_param: str | None, accept: str | None) -> str:
    """The media type to answer with; SwiftError(406) when none is acceptable."""
    if format_param:
        return FORMATS.get(format_param.lower(), "text/plain")
    chosen = best_match(accept or "*/*", OFFERED)
    if chosen is None:
        raise SwiftError(406)
    return chosen


def best_match(accept: str, offered: Sequence[str]) -> str | None:
    """The offered type the Accept header likes most (ties: earliest offered)."""
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    best, best_q = None, 0.0
    for typ in offered:
        main = typ.split("/")[0]
        q_for, specificity = 0.0, -1
        for media, q in ranges:
            level = (
                2 if media == typ else 1 if media == f"{main}/*" else 0 if media == "*/*" else -1
            )
            if level > specificity:
                q_for, specificity = q, level
        if specificity >= 0 and q_for > best_q:
            best, best_q = typ, q_for
    return best


Row = ObjectRow | ContainerRow | SubdirRow


def render(rows: Sequence[Row], media: str, name: str, kind: str) -> bytes:
    """The listing body; ``kind`` is "account" or "container", ``name`` its name."""
    if media == "application/json":
        return json.dumps([_as_dict(r) for r in rows], ensure_ascii=False).encode("utf-8")
    if media.endswith("/xml"):
        return _xml(rows, name, kind)
    return b"".join(r.name.encode("utf-8") + b"\n" for r in rows)


def _as_dict(row: Row) -> dict[str, object]:
    if isinstance(row, SubdirRow):
        return {"subdir": row.subdir}
    if isinstance(row, ObjectRow):
        return {
            "name": row.name,
            "hash": row.etag,
            "bytes": row.size,
            "content_type": row.content_type,
            "last_modified": row.last_modified.isoformat,
        }
    return {
        "name": row.name,
        "count": row.object_count,
        "bytes": row.bytes_used,
        "last_modified": row.last_modified.isoformat,
    }


def _xml(rows: Sequence[Row], name: str, kind: str) -> bytes:
    doc = Element(kind, name=name)
    for row in rows:
        if isinstance(row, SubdirRow):
            sub = SubElement(doc, "subdir", name=row.subdir)
            SubElement(sub, "name").text = row.subdir
            continue
        fields = _as_dict(row)
        sub = SubElement(doc, "object" if kind == "container" else "container")
        for key, value in fields.items():
            SubElement(sub, key).text = str(value)
    return XML_DECL + tostring(doc, encoding="unicode").encode("utf-8")


def list_params(params: dict[str, str], maximum: int, *, allow_path: bool) -> ListParams:
    """Listing controls from the query (limit, marker, end_marker, prefix, delimiter...)."""
    delimiter = params.get("delimiter", "")
    if len(delimiter) > 1:
        raise SwiftError(412, "Bad delimiter")
    reverse = params.get("reverse", "").strip().lower() in ("true", "1", "yes", "on", "t", "y")
    return ListParams(
        limit=listing_limit(params, maximum),
        marker=params.get("marker", ""),
        end_marker=params.get("end_marker", ""),
        prefix=params.get("prefix", ""),
        delimiter=delimiter,
        reverse=reverse,
        path=params.get("path") if allow_path else None,
    )


def listing_response(
    method: str,
    media: str,
    rows: Sequence[Row],
    name: str,
    kind: str,
    headers: dict[str, str],
) -> web.Response:
    """200 with the listing, or 204 (HEAD, or an empty plain listing)."""
    headers["Content-Type"] = f"{media}; charset=utf-8"
    if method == "HEAD":
        return web.Response(status=204, headers=headers)
    body = render(rows, media, name, kind)
    if not body:
        return web.Response(status=204, headers=headers)
    return web.Response(status=200, body=body, headers=headers)
