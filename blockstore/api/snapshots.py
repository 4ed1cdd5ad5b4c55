"""Snapshots: list (summary and detail), show, create, update, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from blockstore.api import views
from blockstore.api.context import ctx, ok
from blockstore.manager.errors import BadRequest


async def _list(request: web.Request) -> web.Response:
    c = ctx(request)
    q = c.query
    filters = {k: q.get(k) for k in ("name", "status", "volume_id")}
    items, more = c.manager.list_snapshots(
        c.caller,
        filters=filters,
        limit=q.get("limit"),
        marker=q.get("marker"),
        sort=q.get("sort"),
        sort_key=q.get("sort_key"),
        sort_dir=q.get("sort_dir"),
    )
    out: dict[str, Any] = {"snapshots": [views.snapshot_view(c.base, s) for s in items]}
    if more:
        out["snapshots_links"] = views.next_link(c.base, c.project, "snapshots", q, items[-1].id)
    return ok(out)


async def handle_list_snapshots(request: web.Request) -> web.Response:
    return await _list(request)


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
        force=spec.get("force", False),
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


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    s = f"{prefix}/snapshots"
    router.add_get(s, handle_list_snapshots)
    router.add_get(f"{s}/detail", handle_list_snapshots)
    router.add_post(s, handle_create_snapshot)
    router.add_get(f"{s}/{{snapshot_id}}", handle_show_snapshot)
    router.add_put(f"{s}/{{snapshot_id}}", handle_update_snapshot)
    router.add_delete(f"{s}/{{snapshot_id}}", handle_delete_snapshot)
