"""Cinder's metadata sub-resource, one set of handlers for volumes and snapshots:
``/volumes/{volume_id}/metadata`` and ``/snapshots/{snapshot_id}/metadata`` behave
the same (POST merges, PUT replaces; ``/{key}`` shows, sets or deletes one item)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from blockstore.api.context import Ctx, ctx, ok
from blockstore.manager.errors import BadRequest, NotFound
from blockstore.manager.table import Table

# The URL parameter naming the owner -> the records it names.
OWNERS: dict[str, Callable[[Ctx], Table[Any]]] = {
    "volume_id": lambda c: c.volumes.table,
    "snapshot_id": lambda c: c.snapshots.table,
}


def _owner(c: Ctx) -> tuple[Table[Any], str]:
    """The records and the id this request's URL names."""
    for param, table in OWNERS.items():
        if param in c.request.match_info:
            return table(c), c.param(param)
    raise NotFound("The resource could not be found.")


async def handle_show_metadata(request: web.Request) -> web.Response:
    c = ctx(request)
    table, ident = _owner(c)
    return ok({"metadata": table.get(c.caller, ident).metadata})


async def handle_set_metadata(request: web.Request) -> web.Response:
    """POST merges the given items, PUT replaces them all."""
    c = ctx(request)
    table, ident = _owner(c)
    items = await c.body("metadata")
    meta = await table.set_metadata(c.caller, ident, items, replace=request.method == "PUT")
    return ok({"metadata": meta})


async def handle_show_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    table, ident = _owner(c)
    meta = table.get(c.caller, ident).metadata
    key = c.param("key")
    if key not in meta:
        raise NotFound(f"{table.what} {ident} has no metadata with key {key[:80]}.")
    return ok({"meta": {key: meta[key]}})


async def handle_set_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    table, ident = _owner(c)
    item = await c.body("meta")
    key = c.param("key")
    if not isinstance(item, dict) or list(item) != [key]:
        raise BadRequest("Request body and URI mismatch: 'meta' must hold exactly the URI's key.")
    await table.set_metadata(c.caller, ident, item)
    return ok({"meta": item})


async def handle_delete_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    table, ident = _owner(c)
    await table.delete_metadata(c.caller, ident, c.param("key"))
    return ok(status=200)


def add_routes(router: web.UrlDispatcher, owner: str) -> None:
    """The metadata routes under ``owner`` (e.g. ``.../volumes/{volume_id}``)."""
    m = f"{owner}/metadata"
    router.add_get(m, handle_show_metadata)
    router.add_post(m, handle_set_metadata)
    router.add_put(m, handle_set_metadata)
    router.add_get(f"{m}/{{key}}", handle_show_metadata_item)
    router.add_put(f"{m}/{{key}}", handle_set_metadata_item)
    router.add_delete(f"{m}/{{key}}", handle_delete_metadata_item)
