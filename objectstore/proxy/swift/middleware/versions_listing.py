"""Listings of object versioning: ``GET <container>?versions`` and the account's rows.

A ``?versions`` listing is Swift's ``_list_versions`` over Stratus's layout
(see ``object_versioning``): the container's own JSON listing gives the
current objects, a HEAD of each says whether it is a version (and which)
or the ``null`` version, and the hidden container gives every other
version and delete marker, already in Swift's order (name, then newest
first). Current versions are put in that stream where Swift's hidden
container would hold them; then Swift's merge runs unchanged (the same
``is_latest`` rule, subdirs, sort and limit), so its answers, quirks
included, come out the same. JSON only, as in Swift (406 otherwise).

Account listings never show hidden containers; each one's bytes are added
to its container's row, and one whose container is gone is listed under
that name with a count of 0, as Swift does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ContainerRow, ListParams, ObjectInfo, ObjectRow, SubdirRow
from objectstore.proxy.swift import listing
from objectstore.proxy.swift.constraints import (
    ACCOUNT_LISTING_LIMIT,
    CONTAINER_LISTING_LIMIT,
    RESERVED,
    listing_limit,
)
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.headers import truthy
from objectstore.proxy.swift.middleware import versions_names as vn
from objectstore.timestamp import Timestamp

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

HEAD_CONCURRENCY = 16
VERSION = "versions-id"  # object system entry: the version id of a current version
#: Past every reserved container name (account listings start here).
RESERVED_END = RESERVED + "\U0010ffff"
_DELIMITER_REFUSED = frozenset("0123456789." + RESERVED)

Item = dict[str, Any]


def version_of(info: ObjectInfo) -> str | None:
    """The version id of a current object; None for the ``null`` version."""
    return info.system.get(VERSION) or None


def _items(rows: Sequence[ObjectRow | SubdirRow], edits: Sequence[listing.RowEdit]) -> list[Item]:
    """Rows as the container's JSON listing shows them (the filters' edits applied)."""
    return json.loads(listing.render(rows, "application/json", "", "container", edits))


def _json_only(format_param: str | None, accept: str | None) -> None:
    """406 unless JSON is acceptable (Swift asks ``best_match(['application/json'])``)."""
    if format_param:
        accept = listing.FORMATS.get(format_param.lower(), "text/plain")
    try:
        acceptable = listing.best_match(accept or "", ("application/json",)) is not None
    except ValueError:
        acceptable = False
    if not acceptable:
        raise SwiftError(406)


def _hidden_marker(params: dict[str, str]) -> str:
    """Swift's conversion of ``marker`` / ``version_marker`` to a hidden-container marker."""
    marker = params.get("marker")
    version_marker = params.get("version_marker")
    if marker is None:
        if version_marker is not None:
            raise SwiftError(400, "version_marker param requires marker", content_type=HTML)
        return ""
    if version_marker is None:
        return vn.entry_prefix(marker) + ":"  # past all of its versions
    if version_marker == vn.NULL:
        return vn.entry_prefix(marker)  # before all of them
    version = vn.parse_version(version_marker)
    if version is None:
        raise SwiftError(400, "invalid version_marker param", content_type=HTML)
    return vn.entry_name(marker, version)


async def _currents(ctx: Ctx, rows: list[Item]) -> dict[str, str | None]:
    """Each current object's version id (None: the null version), by a HEAD each."""
    assert ctx.container is not None
    gate = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def one(name: str) -> tuple[str, str | None]:
        async with gate:
            try:
                info = await ctx.core.head_object(ctx.account, ctx.container or "", name, raw=True)
            except core_errors.ObjectNotFound:
                return name, None
            return name, version_of(info)

    found = await asyncio.gather(*(one(r["name"]) for r in rows if "name" in r))
    return dict(found)


def _as_entry(item: Item, version: str) -> dict[str, Item]:
    """A current version's row as the hidden container would list it (Swift keeps it there)."""
    ts = vn.parse_version(version)
    assert ts is not None
    entry = vn.entry_name(item["name"], ts)
    return {
        entry: {
            "bytes": item["bytes"],
            "hash": item["hash"],
            "name": entry,
            "content_type": item["content_type"],
            "last_modified": ts.isoformat,
        }
    }


async def _beyond_end(ctx: Ctx, listed: list[Item], edits: Sequence[listing.RowEdit]) -> list[Item]:
    """Current objects past ``end_marker``: Swift's hidden listing has no end_marker."""
    assert ctx.container is not None
    if not ctx.params.get("end_marker"):
        return []
    params = {k: v for k, v in ctx.params.items() if k != "end_marker"}
    wanted = listing.list_params(params, CONTAINER_LISTING_LIMIT, allow_path=False)
    _info, rows = await ctx.core.list_objects(ctx.account, ctx.container, wanted)
    seen = {i["name"] for i in listed if "name" in i}
    return _items([r for r in rows if isinstance(r, ObjectRow) and r.name not in seen], edits)


async def _hidden_rows(
    ctx: Ctx, hidden: str, params: ListParams
) -> list[ObjectRow | SubdirRow] | None:
    try:
        _info, rows = await ctx.core.list_objects(ctx.account, hidden, params)
    except core_errors.ContainerNotFound:
        return None
    return rows


def _in_page(name: str, params: ListParams, rows: Sequence[ObjectRow | SubdirRow]) -> bool:
    """Whether a hidden container listing with ``params`` would have held entry ``name``."""
    if not name.startswith(params.prefix):
        return False
    if params.marker and (name >= params.marker if params.reverse else name <= params.marker):
        return False
    if len(rows) < params.limit or not rows:
        return True
    last = rows[-1].name
    return name >= last if params.reverse else name <= last


async def list_versions(ctx: Ctx, primary: web.Response, hidden: str | None) -> web.Response:
    """The ``?versions`` answer from the container's own JSON listing (``primary``)."""
    _json_only(ctx.params.get("format"), ctx.headers.get("Accept"))
    assert isinstance(primary.body, bytes)
    current_rows: list[Item] = json.loads(primary.body)
    marker = _hidden_marker(ctx.params)
    delimiter = ctx.params.get("delimiter", "")
    if _DELIMITER_REFUSED.intersection(delimiter):
        raise SwiftError(400, "invalid delimiter param", content_type=HTML)
    limit = listing_limit(ctx.params, CONTAINER_LISTING_LIMIT)
    reverse = truthy(ctx.params.get("reverse"))
    edits: Sequence[listing.RowEdit] = ctx.environ.get(listing.ROW_EDITS, ())

    beyond = await _beyond_end(ctx, current_rows, edits)
    versions_of = await _currents(ctx, current_rows + beyond)
    null_listing: list[Item] = []
    subdirs: set[str] = set()
    latest_names: set[str] = set()
    synthetic: dict[str, Item] = {}  # current versions, as the hidden container would list them
    for item in current_rows:
        if "name" not in item:
            subdirs.add(item["subdir"])
            continue
        version = versions_of.get(item["name"])
        if version is None:
            null_listing.append(dict(item, version_id=vn.NULL, is_latest=True))
            latest_names.add(item["name"])
        else:
            synthetic.update(_as_entry(item, version))
    current = set(synthetic)
    for item in beyond:  # listed by the hidden container, not as current (Swift's way)
        version = versions_of.get(item["name"])
        if version is not None:
            synthetic.update(_as_entry(item, version))

    params = ListParams(
        limit=limit,
        marker=marker,
        prefix=vn.escape(ctx.params.get("prefix", "")),
        delimiter=delimiter,
        reverse=reverse,
    )
    rows = (await _hidden_rows(ctx, hidden, params) if hidden else None) or []
    stream = _items(rows, edits)
    names = {i["name"] for i in stream if "name" in i}
    stream += [i for e, i in synthetic.items() if e not in names and _in_page(e, params, rows)]
    stream.sort(key=lambda i: i.get("name", i.get("subdir", "")), reverse=reverse)
    del stream[limit:]

    versions: list[Item] = []
    for item in stream:
        if "name" not in item:
            subdirs.add(vn.unescape(item["subdir"]))
            continue
        parsed = vn.parse_entry(item["name"])
        if parsed is None:
            continue
        name, version = parsed
        # Swift's rule: the current version, else a name's first delete marker.
        latest = item["name"] in current or (
            item["content_type"] == vn.DELETE_MARKER and name not in latest_names
        )
        item["is_latest"] = latest
        if latest:
            latest_names.add(name)
        item["name"] = name
        item["version_id"] = version
        versions.append(item)

    merged = sorted(
        [*null_listing, *versions, *({"subdir": s} for s in subdirs)],
        key=lambda i: i.get("name", i.get("subdir", "")),
        reverse=reverse,
    )[:limit]
    body = json.dumps(merged).encode("ascii")
    headers = {k: v for k, v in primary.headers.items() if k.lower() != "content-length"}
    return web.Response(status=200, body=body, headers=headers)


def hide_reserved(params: dict[str, str]) -> dict[str, str]:
    """Account listing parameters that start past every reserved container name."""
    out = dict(params)
    bound = "end_marker" if truthy(params.get("reverse")) else "marker"
    if out.get(bound, "") < RESERVED_END:
        out[bound] = RESERVED_END
    return out


def _hidden_bound(value: str) -> str:
    return value if value.startswith(RESERVED) else vn.versions_container(value)


async def fold_hidden(
    ctx: Ctx, wanted: dict[str, str], rows: list[ContainerRow | SubdirRow]
) -> list[ContainerRow | SubdirRow]:
    """Swift's AccountContext.list_containers: hidden bytes into their containers' rows."""
    reverse = truthy(wanted.get("reverse"))
    limit = listing_limit(wanted, ACCOUNT_LISTING_LIMIT)
    params = ListParams(
        limit=limit,
        prefix=vn.versions_container(wanted.get("prefix", "")),
        marker=_hidden_bound(wanted["marker"]) if "marker" in wanted else "",
        end_marker=_hidden_bound(wanted["end_marker"]) if "end_marker" in wanted else "",
        reverse=reverse,
    )
    try:
        _info, hidden = await ctx.core.list_containers(ctx.account, params)
    except core_errors.NotFound:
        return rows
    found: dict[str, ContainerRow] = {}
    for row in hidden:
        parent = vn.parent_container(row.name) if isinstance(row, ContainerRow) else None
        if parent is not None and isinstance(row, ContainerRow):
            found[parent] = row
    if not found:
        return rows
    out: list[ContainerRow | SubdirRow] = []
    for row in rows:
        extra = found.pop(row.name, None) if isinstance(row, ContainerRow) else None
        if extra is not None and isinstance(row, ContainerRow):
            row = dataclasses.replace(row, bytes_used=row.bytes_used + extra.bytes_used)
        out.append(row)
    for parent, row in found.items():  # orphans: their container is gone
        out.append(ContainerRow(parent, 0, row.bytes_used, row.last_modified))
    out.sort(key=lambda r: r.name, reverse=reverse)
    return out[:limit]


def timestamp_of(version: str) -> Timestamp:
    ts = vn.parse_version(version)
    assert ts is not None
    return ts
