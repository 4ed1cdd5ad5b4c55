"""Backups: create (full or incremental), list, show, update, delete, restore, verify."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from blockstore.api import requests, views
from blockstore.api.context import Ctx, ctx, ok
from blockstore.backup.objects import required
from blockstore.manager.errors import BadRequest
from blockstore.manager.records import Backup


def detail(c: Ctx, bk: Backup) -> dict[str, Any]:
    return views.backup_detail(c.base, bk, c.backups.backup_has_dependents(c.caller, bk))


async def _list(request: web.Request, with_detail: bool) -> web.Response:
    c = ctx(request)
    q = requests.ListQuery.parse(c.query, ("name", "status", "volume_id"))
    items, more = q.run(c.caller, c.backups.list_backups)
    shown = [detail(c, b) if with_detail else views.backup_summary(c.base, b) for b in items]
    kind = "backups/detail" if with_detail else "backups"
    last = items[-1].id if more else None
    return ok(views.page(c.base, c.project, kind, c.query, shown, last))


async def handle_list_backups(request: web.Request) -> web.Response:
    return await _list(request, False)


async def handle_list_backups_detail(request: web.Request) -> web.Response:
    return await _list(request, True)


async def handle_create_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    c.must_write()
    required(c.backups.objects)  # no object store: said before any value is judged
    req = requests.BackupCreate.parse(await c.body("backup"))
    bk = await c.backups.create_backup(
        c.caller,
        req.volume_id,
        name=req.name,
        description=req.description,
        incremental=req.incremental,
        force=req.force,
        metadata=req.metadata,
    )
    return ok({"backup": views.backup_summary(c.base, bk)}, 202)


async def handle_show_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"backup": detail(c, c.backups.get_backup(c.caller, c.param("backup_id")))})


async def handle_update_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    changes = requests.Changes.parse(await c.body("backup"), "backup")
    bk = await c.backups.update_backup(c.caller, c.param("backup_id"), changes.given)
    return ok({"backup": detail(c, bk)})


async def handle_delete_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.backups.delete_backup(c.caller, c.param("backup_id"))
    return ok(status=202)


async def handle_restore_backup(request: web.Request) -> web.Response:
    c = ctx(request)
    req = requests.Restore.parse(await c.body("restore", required=False))
    bk, vol = await c.backups.restore_backup(
        c.caller, c.param("backup_id"), volume_id=req.volume_id, name=req.name
    )
    return ok({"restore": {"backup_id": bk.id, "volume_id": vol.id, "volume_name": vol.name}}, 202)


async def handle_backup_action(request: web.Request) -> web.Response:
    """``{"os-verify": {}}`` re-reads every chunk; ``{"os-reset_status": {...}}`` for admins."""
    c = ctx(request)
    name, args = requests.one_action(await c.body())
    if name == "os-verify":
        await c.backups.verify_backup(c.caller, c.param("backup_id"))
        return ok(status=202)
    if name == "os-reset_status":
        status = requests.ResetStatus.parse_lenient(args).status
        await c.backups.reset_backup_status(c.caller, c.param("backup_id"), status)
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
