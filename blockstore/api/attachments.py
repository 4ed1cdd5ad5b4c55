"""Attachments (Cinder 3.27+): create (reserve, and connect when a connector is given),
update (connect), complete, show, list, delete (detach)."""

from __future__ import annotations

from aiohttp import web

from blockstore.api import requests, views
from blockstore.api.context import ctx, ok
from blockstore.manager.errors import BadRequest


async def handle_create_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    c.must_write()
    req = requests.AttachmentCreate.parse(await c.body("attachment"))
    att, info = await c.attachments.reserve(
        c.caller,
        req.volume_uuid,
        instance_uuid=req.instance_uuid,
        mode=req.mode,
        connector=req.connector,
    )
    return ok({"attachment": views.attachment_view(att, info)})


async def handle_update_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    c.must_write()
    req = requests.AttachmentUpdate.parse(await c.body("attachment"))
    att, info = await c.attachments.update_attachment(
        c.caller, c.param("attachment_id"), req.connector
    )
    return ok({"attachment": views.attachment_view(att, info)})


async def handle_attachment_action(request: web.Request) -> web.Response:
    c = ctx(request)
    body = await c.body()
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        name = next(iter(body), "") if isinstance(body, dict) else ""
        raise BadRequest(f"There is no such action: {str(name)[:60]}")
    await c.attachments.complete_attachment(c.caller, c.param("attachment_id"))
    return ok(status=204)


async def handle_show_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    att = c.attachments.get_attachment(c.caller, c.param("attachment_id"))
    info = c.attachments.connection_view(c.caller, att.id)
    return ok({"attachment": views.attachment_view(att, info)})


async def _list(request: web.Request, with_detail: bool) -> web.Response:
    c = ctx(request)
    q = c.query
    filters = {
        "volume_id": q.get("volume_id"),
        "status": q.get("status"),
        "instance_uuid": q.get("instance_id"),
    }
    items, more = c.attachments.list_attachments(
        c.caller, filters=filters, limit=q.get("limit"), marker=q.get("marker"), sort=q.get("sort")
    )
    if with_detail:
        shown = [views.attachment_view(a) for a in items]
    else:
        shown = [
            {"id": a.id, "status": a.status, "instance": a.instance_uuid, "volume_id": a.volume_id}
            for a in items
        ]
    last = items[-1].id if more else None
    return ok(views.page(c.base, c.project, "attachments", q, shown, last))


async def handle_list_attachments(request: web.Request) -> web.Response:
    return await _list(request, False)


async def handle_list_attachments_detail(request: web.Request) -> web.Response:
    return await _list(request, True)


async def handle_delete_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    left = await c.attachments.delete_attachment(c.caller, c.param("attachment_id"))
    return ok({"attachments": [views.attachment_view(a) for a in left]})


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    a = f"{prefix}/attachments"
    router.add_get(a, handle_list_attachments)
    router.add_get(f"{a}/detail", handle_list_attachments_detail)
    router.add_post(a, handle_create_attachment)
    router.add_get(f"{a}/{{attachment_id}}", handle_show_attachment)
    router.add_put(f"{a}/{{attachment_id}}", handle_update_attachment)
    router.add_post(f"{a}/{{attachment_id}}/action", handle_attachment_action)
    router.add_delete(f"{a}/{{attachment_id}}", handle_delete_attachment)
