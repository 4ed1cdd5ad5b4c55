"""Account and container listings in Swift's three formats: plain, json, xml.

The format comes from ``?format=`` (json, xml, plain; anything else means
plain), else from the Accept header as swob reads it: ranges are tried by
quality, then specific before wildcard, then in header order, and the first
offered type a range matches wins (even at ``q=0``); no match is a 406, an
unreadable header a 400. A listing whose type came from Accept says
``Vary: Accept``. An empty plain listing is a 204, as in Swift; json and xml
always carry a document. Bodies are byte for byte what Swift's servers and
its listing_formats middleware write: json with ASCII escapes and Swift's
key order, xml with the account listing's line breaks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from xml.etree.ElementTree import Element, SubElement, tostring

from aiohttp import web

from objectstore.proxy.models import ContainerRow, ListParams, ObjectRow, SubdirRow
from objectstore.proxy.swift.constraints import MAX_OBJECT_NAME_LENGTH, blen, listing_limit
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.headers import truthy

FORMATS = {"plain": "text/plain", "json": "application/json", "xml": "application/xml"}
OFFERED = ("text/plain", "application/json", "application/xml", "text/xml")
XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
POLICY_NAME = "Policy-0"  # the one storage policy, as X-Storage-Policy names it

# swob.Accept's grammar (RFC 2616 section 2.2).
_TOKEN = r"[^()<>@,;:\"/\[\]?={}\x00-\x20\x7f]+"
_QUOTED = r'"(?:[^"\\]|(?:\\.))*"'
_EXTENSION = rf"(?:\s*;\s*(?:{_TOKEN})\s*=\s*(?:{_TOKEN}|{_QUOTED}))"
_ACCEPT = re.compile(rf"^\s*({_TOKEN})/({_TOKEN})({_EXTENSION}*?\s*)$")


def listing_type(format_param: str | None, accept: str | None) -> str:
    """The media type to answer with; SwiftError 406 when none is acceptable, 400 when
    the Accept header does not parse."""
    if format_param:
        accept = FORMATS.get(format_param.lower(), "text/plain")
    try:
        chosen = best_match(accept or "", OFFERED)
    except ValueError:
        raise SwiftError(400, "Invalid Accept header", content_type=HTML) from None
    if chosen is None:
        raise SwiftError(406)
    return chosen


def _accept_patterns(accept: str) -> list[str]:
    """swob.Accept._get_types: one regex per media range, best first."""
    types: list[tuple[str, float, bool]] = []
    if not accept:
        return []
    for item in accept.split(","):
        found = _ACCEPT.findall(item)
        if not found:
            raise ValueError("Invalid accept header")
        main, sub, params = found[0]
        quality, seen_q = 1.0, False
        for param in (p.strip() for p in params.split(";")):
            if not param:
                continue
            name, value = param.split("=")  # more than one "=": ValueError, as in swob
            if name.strip() == "q":
                if seen_q:
                    raise ValueError('Multiple "q" params')
                seen_q = True
                quality = float(value.strip())
        pattern = (
            "^"
            + (_TOKEN if main == "*" else re.escape(main))
            + "/"
            + (_TOKEN if sub == "*" else re.escape(sub))
            + "$"
        )
        types.append((pattern, quality, "*" not in (main, sub)))
    types.sort(reverse=True, key=lambda t: (t[1], t[2]))
    return [t[0] for t in types]


def best_match(accept: str, offered: Sequence[str]) -> str | None:
    """swob.Accept.best_match: the first offered type the best range matches.

    Raises ValueError for a header swob cannot read.
    """
    patterns = _accept_patterns(accept)
    if not patterns and offered:
        return offered[0]
    for pattern in patterns:
        for typ in offered:
            if re.match(pattern, typ):
                return typ
    return None


Row = ObjectRow | ContainerRow | SubdirRow
#: A filter's change to each object row (``ctx.environ[ROW_EDITS]``, a list): symlink
#: turns its content-type parameters into ``symlink_path``..., as Swift's middlewares
#: rewrite the JSON listing.
RowEdit = Callable[[dict[str, object]], None]
ROW_EDITS = "stratus.listing.row_edits"


def render(
    rows: Sequence[Row], media: str, name: str, kind: str, edits: Sequence[RowEdit] = ()
) -> bytes:
    """The listing body; ``kind`` is "account" or "container", ``name`` its name."""
    if media == "application/json":
        return json.dumps([_as_dict(r, edits) for r in rows]).encode("ascii")
    if media.endswith("/xml"):
        return _xml(rows, name, kind, edits)
    return b"".join(r.name.encode("utf-8") + b"\n" for r in rows)


def _as_dict(row: Row, edits: Sequence[RowEdit] = ()) -> dict[str, object]:
    """A row with the keys, in the order, of Swift's container and account servers."""
    if isinstance(row, SubdirRow):
        return {"subdir": row.subdir}
    if isinstance(row, ObjectRow):
        fields: dict[str, object] = {
            "bytes": row.size,
            "hash": row.etag,
            "name": row.name,
            "content_type": row.content_type,
            "last_modified": row.last_modified.isoformat,
        }
        for edit in edits:
            edit(fields)
        return fields
    return {
        "name": row.name,
        "count": row.object_count,
        "bytes": row.bytes_used,
        "last_modified": row.last_modified.isoformat,
        "storage_policy": POLICY_NAME,
    }


_XML_FIELDS = {
    "container": ("name", "hash", "bytes", "content_type", "last_modified"),
    "account": ("name", "count", "bytes", "last_modified", "storage_policy"),
}


def _xml(rows: Sequence[Row], name: str, kind: str, edits: Sequence[RowEdit]) -> bytes:
    """listing_formats.container_to_xml / account_to_xml."""
    account = kind == "account"
    doc = Element(kind, name=name)
    if account:
        doc.text = "\n"
    for row in rows:
        if isinstance(row, SubdirRow):
            sub = SubElement(doc, "subdir", name=row.subdir)
            if not account:
                SubElement(sub, "name").text = row.subdir
        else:
            fields = _as_dict(row, edits)
            sub = SubElement(doc, "container" if account else "object")
            for key in _XML_FIELDS[kind]:
                SubElement(sub, key).text = str(fields[key])
        if account:
            sub.tail = "\n"
    return XML_DECL + tostring(doc, encoding="unicode").encode("utf-8")


def list_params(params: dict[str, str], maximum: int, *, allow_path: bool) -> ListParams:
    """Listing controls from the query (limit, marker, end_marker, prefix, delimiter...)."""
    delimiter = params.get("delimiter", "")
    if blen(delimiter) > MAX_OBJECT_NAME_LENGTH:
        delimiter = ""  # Swift takes any delimiter; one longer than every name matches none
    reverse = truthy(params.get("reverse"))  # Swift's config_true_value
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
    *,
    vary: bool = False,
    edits: Sequence[RowEdit] = (),
) -> web.Response:
    """200 with the listing, or 204 (HEAD, or an empty plain listing).

    ``vary``: the type was chosen by the Accept header (no ``format`` in the query).
    """
    headers["Content-Type"] = f"{media}; charset=utf-8"
    if vary:
        headers["Vary"] = "Accept"
    if method == "HEAD":
        return web.Response(status=204, headers=headers)
    body = render(rows, media, name, kind, edits)
    if not body:
        return web.Response(status=204, headers=headers)
    return web.Response(status=200, body=body, headers=headers)
