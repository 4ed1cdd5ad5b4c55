"""Attachments (Cinder 3.27+): create (reserve, and connect when a connector is given),
update (connect), complete, show, list, delete (detach)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from blockstore.api import views
from blockstore.api.context import ctx, ok
from blockstore.manager.errors import BadRequest


async def handle_create_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = await c.body("attachment")
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input received: 'attachment' must be an object.")
    att, info = await c.manager.reserve(
        c.caller,
        spec.get("volume_uuid"),
        instance_uuid=spec.get("instance_uuid"),
        mode=spec.get("mode"),
        # An empty connector (what `openstack volume attachment create` sends without
        # --connect) means none, as in Cinder: the attachment is only reserved.
        connector=spec.get("connector") or None,
    )
    return ok({"attachment": views.attachment_view(att, info)})


async def handle_update_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = await c.body("attachment")
    if not isinstance(spec, dict) or "connector" not in spec:
        raise BadRequest("Invalid input received: 'attachment' needs a connector.")
    att, info = await c.manager.update_attachment(
        c.caller, c.param("attachment_id"), spec["connector"]
    )
    return ok({"attachment": views.attachment_view(att, info)})


async def handle_attachment_action(request: web.Request) -> web.Response:
    c = ctx(request)
    body = await c.body()
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        name = next(iter(body), "") if isinstance(body, dict) else ""
        raise BadRequest(f"There is no such action: {str(name)[:60]}")
    await c.manager.complete_attachment(c.caller, c.param("attachment_id"))
    return ok(status=204)


async def handle_show_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    att = c.manager.get_attachment(c.caller, c.param("attachment_id"))
    info = c.manager.connection_view(c.caller, att.id)
    return ok({"attachment": views.attachment_view(att, info)})


async def _list(request: web.Request, with_detail: bool) -> web.Response:
    c = ctx(request)
    q = c.query
    filters = {
        "volume_id": q.get("volume_id"),
        "status": q.get("status"),
        "instance_uuid": q.get("instance_id"),
    }
    items, more = c.manager.list_attachments(
        c.caller, filters=filters, limit=q.get("limit"), marker=q.get("marker"), sort=q.get("sort")
    )
    if with_detail:
        shown = [views.attachment_view(a) for a in items]
    else:
        shown = [
            {"id": a.id, "status": a.status, "instance": a.instance_uuid, "volume_id": a.volume_id}
            for a in items
        ]
    out: dict[str, Any] = {"attachments": shown}
    if more:
        out["attachments_links"] = views.next_link(
            c.base, c.project, "attachments", q, items[-1].id
        )
    return ok(out)


async def handle_list_attachments(request: web.Request) -> web.Response:
    return await _list(request, False)


async def handle_list_attachments_detail(request: web.Request) -> web.Response:
    return await _list(request, True)


async def handle_delete_attachment(request: web.Request) -> web.Response:
    c = ctx(request)
    left = await c.manager.delete_attachment(c.caller, c.param("attachment_id"))
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
