"""Backups: create (full or incremental), list, show, update, delete, restore, verify."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from blockstore.api import views
from blockstore.api.context import Ctx, ctx, flag, ok
from blockstore.manager.errors import BadRequest
from blockstore.manager.records import Backup


def detail(c: Ctx, bk: Backup) -> dict[str, Any]:
    return views.backup_detail(c.base, bk, c.manager.backup_has_dependents(c.caller, bk))


async def _list(request: web.Request, with_detail: bool) -> web.Response:
    c = ctx(request)
    q = c.query
    filters = {k: q.get(k) for k in ("name", "status", "volume_id")}
    if flag(q.get("all_tenants")):
        filters["project"] = q.get("project_id")
    items, more = c.manager.list_backups(
        c.caller,
        filters=filters,
        limit=q.get("limit"),
        marker=q.get("marker"),
        sort=q.get("sort"),
        sort_key=q.get("sort_key"),
        sort_dir=q.get("sort_dir"),
        all_projects=flag(q.get("all_tenants")),
    )
    shown = [detail(c, b) if with_detail else views.backup_summary(c.base, b) for b in items]
    out: dict[str, Any] = {"backups": shown}
    if more:
        kind = "backups/detail" if with_detail else "backups"
        out["backups_links"] = views.next_link(c.base, c.project, kind, q, items[-1].id)
    return ok(out)


async def handle_list_backups(request: web.Request) -> web.Response:
    return await _list(request, False)


async def handle_list_backups_detail(request: web.Request) -> web.Response:
    return await _list(request, True)


async def handle_create_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = await c.body("backup")
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input received: 'backup' must be an object.")
    bk = await c.manager.create_backup(
        c.caller,
        spec.get("volume_id"),
        name=spec.get("name"),
        description=spec.get("description"),
        incremental=spec.get("incremental", False),
        force=spec.get("force", False),
        metadata=spec.get("metadata"),
    )
    return ok({"backup": views.backup_summary(c.base, bk)}, 202)


async def handle_show_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"backup": detail(c, c.manager.get_backup(c.caller, c.param("backup_id")))})


async def handle_update_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    changes = await c.body("backup")
    if not isinstance(changes, dict):
        raise BadRequest("Invalid input received: 'backup' must be an object.")
    bk = await c.manager.update_backup(c.caller, c.param("backup_id"), changes)
    return ok({"backup": detail(c, bk)})


async def handle_delete_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.manager.delete_backup(c.caller, c.param("backup_id"))
    return ok(status=202)


async def handle_restore_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = await c.body("restore", required=False) or {}
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input received: 'restore' must be an object.")
    bk, vol = await c.manager.restore_backup(
        c.caller, c.param("backup_id"), volume_id=spec.get("volume_id"), name=spec.get("name")
    )
    return ok({"restore": {"backup_id": bk.id, "volume_id": vol.id, "volume_name": vol.name}}, 202)


async def handle_backup_action(request: web.Request) -> web.Response:
    """``{"os-verify": {}}`` re-reads every chunk; ``{"os-reset_status": {...}}`` for admins."""
    c = ctx(request)
    body = await c.body()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid input received: an action body has exactly one key.")
    ((name, args),) = body.items()
    if name == "os-verify":
        await c.manager.verify_backup(c.caller, c.param("backup_id"))
        return ok(status=202)
    if name == "os-reset_status":
        status = args.get("status") if isinstance(args, dict) else None
        await c.manager.reset_backup_status(c.caller, c.param("backup_id"), status)
        return ok(status=202)
    raise BadRequest(f"There is no such action: {str(name)[:60]}")


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    b = f"{prefix}/backups"
    router.add_get(b, handle_list_backups)
    router.add_get(f"{b}/detail", handle_list_backups_detail)
    router.add_post(b, handle_create_backup)
    router.add_get(f"{b}/{{backup_id}}", handle_show_backup)
    router.add_put(f"{b}/{{backup_id}}", handle_update_backup)
    router.add_delete(f"{b}/{{backup_id}}", handle_delete_backup)
    router.add_post(f"{b}/{{backup_id}}/restore", handle_restore_backup)
    router.add_post(f"{b}/{{backup_id}}/action", handle_backup_action)
