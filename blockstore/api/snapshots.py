"""Snapshots: list (summary and detail), show, create, update, delete, metadata."""

from __future__ import annotations

from aiohttp import web

from blockstore.api import metadata, requests, views
from blockstore.api.context import ctx, ok


async def _list(request: web.Request) -> web.Response:
    c = ctx(request)
    q = requests.ListQuery.parse(c.query, ("name", "status", "volume_id"))
    items, more = q.run(c.caller, c.snapshots.list_snapshots)
    shown = [views.snapshot_view(c.base, s) for s in items]
    last = items[-1].id if more else None
    return ok(views.page(c.base, c.project, "snapshots", c.query, shown, last))


async def handle_list_snapshots(request: web.Request) -> web.Response:
    return await _list(request)


async def handle_create_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    c.must_write()
    req = requests.SnapshotCreate.parse(await c.body("snapshot"), c.version)
    snap = await c.snapshots.create_snapshot(
        c.caller,
        req.volume_id,
        name=req.name,
        description=req.description,
        force=req.force,
        metadata=req.metadata,
    )
    return ok({"snapshot": views.snapshot_view(c.base, snap)}, 202)


async def handle_show_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    snap = c.snapshots.get_snapshot(c.caller, c.param("snapshot_id"))
    return ok({"snapshot": views.snapshot_view(c.base, snap)})


async def handle_update_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    changes = requests.Changes.parse(await c.body("snapshot"), "snapshot")
    snap = await c.snapshots.update_snapshot(c.caller, c.param("snapshot_id"), changes.given)
    return ok({"snapshot": views.snapshot_view(c.base, snap)})


async def handle_delete_snapshot(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.snapshots.delete_snapshot(c.caller, c.param("snapshot_id"))
    return ok(status=202)


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    s = f"{prefix}/snapshots"
    router.add_get(s, handle_list_snapshots)
    router.add_get(f"{s}/detail", handle_list_snapshots)
    router.add_post(s, handle_create_snapshot)
    router.add_get(f"{s}/{{snapshot_id}}", handle_show_snapshot)
    router.add_put(f"{s}/{{snapshot_id}}", handle_update_snapshot)
    router.add_delete(f"{s}/{{snapshot_id}}", handle_delete_snapshot)
    metadata.add_routes(router, f"{s}/{{snapshot_id}}")
