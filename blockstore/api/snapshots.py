"""Snapshots: list (summary and detail), show, create, update, delete, metadata."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from blockstore.api import views
from blockstore.api.context import Ctx, ctx, flag, ok
from blockstore.manager.errors import BadRequest, NotFound


async def _list(request: web.Request) -> web.Response:
    c = ctx(request)
    q = c.query
    filters = {k: q.get(k) for k in ("name", "status", "volume_id")}
    if flag(q.get("all_tenants")):
        filters["project"] = q.get("project_id")
    items, more = c.manager.list_snapshots(
        c.caller,
        filters=filters,
        limit=q.get("limit"),
        marker=q.get("marker"),
        sort=q.get("sort"),
        sort_key=q.get("sort_key"),
        sort_dir=q.get("sort_dir"),
        all_projects=flag(q.get("all_tenants")),
    )
    out: dict[str, Any] = {"snapshots": [views.snapshot_view(c.base, s) for s in items]}
    if more:
        out["snapshots_links"] = views.next_link(c.base, c.project, "snapshots", q, items[-1].id)
    return ok(out)


async def handle_list_snapshots(request: web.Request) -> web.Response:
    return await _list(request)


def _force(c: Ctx, spec: dict[str, Any]) -> Any:
    """From 3.66 an in-use volume is snapshotted without ``force``; ``force: false`` is refused."""
    force = spec.get("force", False)
    if not c.at_least(3, 66):
        return force
    if "force" in spec and not flag(str(force)):
        raise BadRequest(
            "Invalid input received: the 'force' flag is not allowed to be false "
            "from microversion 3.66."
        )
    return True


async def handle_create_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = await c.body("snapshot")
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input received: 'snapshot' must be an object.")
    snap = await c.manager.create_snapshot(
        c.caller,
        spec.get("volume_id"),
        name=spec.get("name", spec.get("display_name")),
        description=spec.get("description", spec.get("display_description")),
        force=_force(c, spec),
        metadata=spec.get("metadata"),
    )
    return ok({"snapshot": views.snapshot_view(c.base, snap)}, 202)


async def handle_show_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    snap = c.manager.get_snapshot(c.caller, c.param("snapshot_id"))
    return ok({"snapshot": views.snapshot_view(c.base, snap)})


async def handle_update_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    changes = await c.body("snapshot")
    if not isinstance(changes, dict):
        raise BadRequest("Invalid input received: 'snapshot' must be an object.")
    snap = await c.manager.update_snapshot(c.caller, c.param("snapshot_id"), changes)
    return ok({"snapshot": views.snapshot_view(c.base, snap)})


async def handle_delete_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.manager.delete_snapshot(c.caller, c.param("snapshot_id"))
    return ok(status=202)


# -- metadata (Cinder's /snapshots/{id}/metadata, as for volumes) ----------------------


async def handle_show_metadata(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"metadata": c.manager.get_snapshot(c.caller, c.param("snapshot_id")).metadata})


async def handle_set_metadata(request: web.Request) -> web.Response:
    """POST merges the given items, PUT replaces them all."""
    c = ctx(request)
    items = await c.body("metadata")
    meta = await c.manager.set_snapshot_metadata(
        c.caller, c.param("snapshot_id"), items, replace=request.method == "PUT"
    )
    return ok({"metadata": meta})


async def handle_show_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    meta = c.manager.get_snapshot(c.caller, c.param("snapshot_id")).metadata
    key = c.param("key")
    if key not in meta:
        raise NotFound(f"Snapshot {c.param('snapshot_id')} has no metadata with key {key[:80]}.")
    return ok({"meta": {key: meta[key]}})


async def handle_set_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    item = await c.body("meta")
    key = c.param("key")
    if not isinstance(item, dict) or list(item) != [key]:
        raise BadRequest("Request body and URI mismatch: 'meta' must hold exactly the URI's key.")
    await c.manager.set_snapshot_metadata(c.caller, c.param("snapshot_id"), item)
    return ok({"meta": item})


async def handle_delete_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.manager.delete_snapshot_metadata(c.caller, c.param("snapshot_id"), c.param("key"))
    return ok(status=200)


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    s = f"{prefix}/snapshots"
    router.add_get(s, handle_list_snapshots)
    router.add_get(f"{s}/detail", handle_list_snapshots)
    router.add_post(s, handle_create_snapshot)
    router.add_get(f"{s}/{{snapshot_id}}", handle_show_snapshot)
    router.add_put(f"{s}/{{snapshot_id}}", handle_update_snapshot)
    router.add_delete(f"{s}/{{snapshot_id}}", handle_delete_snapshot)
    m = f"{s}/{{snapshot_id}}/metadata"
    router.add_get(m, handle_show_metadata)
    router.add_post(m, handle_set_metadata)
    router.add_put(m, handle_set_metadata)
    router.add_get(f"{m}/{{key}}", handle_show_metadata_item)
    router.add_put(f"{m}/{{key}}", handle_set_metadata_item)
    router.add_delete(f"{m}/{{key}}", handle_delete_metadata_item)
