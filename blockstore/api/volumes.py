"""Volumes: list, show, create, update, delete, metadata and the volume actions."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from blockstore.api import compute_events, views
from blockstore.api.context import COMPUTE_URL, Ctx, ctx, flag, ok
from blockstore.manager.errors import BadRequest, NotFound
from blockstore.manager.records import Volume, VolumeType

AZ = "nova"


def detail(c: Ctx, vol: Volume) -> dict[str, Any]:
    atts = c.manager.volume_attachments(c.caller, vol)
    vt = c.manager.store.get(VolumeType, "", vol.volume_type_id)
    return views.volume_detail(c.base, vol, atts, vt.name if vt else None)


def list_filters(query: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {k: query.get(k) for k in ("name", "status")}
    if flag(query.get("all_tenants")):
        filters["project"] = query.get("project_id")
    if "metadata" in query:
        try:
            meta = json.loads(query["metadata"])
        except ValueError:
            raise BadRequest("Invalid input received: metadata filter must be JSON.") from None
        if not isinstance(meta, dict):
            raise BadRequest("Invalid input received: metadata filter must be an object.")
        filters["metadata"] = meta
    return filters


async def _list(request: web.Request, with_detail: bool) -> web.Response:
    c = ctx(request)
    q = c.query
    items, more = c.manager.list_volumes(
        c.caller,
        filters=list_filters(q),
        limit=q.get("limit"),
        marker=q.get("marker"),
        sort=q.get("sort"),
        sort_key=q.get("sort_key"),
        sort_dir=q.get("sort_dir"),
        all_projects=flag(q.get("all_tenants")),
    )
    shown = [detail(c, v) if with_detail else views.volume_summary(c.base, v) for v in items]
    out: dict[str, Any] = {"volumes": shown}
    if more:
        kind = "volumes/detail" if with_detail else "volumes"
        out["volumes_links"] = views.next_link(c.base, c.project, kind, q, items[-1].id)
    return ok(out)


async def handle_list_volumes(request: web.Request) -> web.Response:
    return await _list(request, False)


async def handle_list_volumes_detail(request: web.Request) -> web.Response:
    return await _list(request, True)


async def handle_create_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = await c.body("volume")
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input received: 'volume' must be an object.")
    az = spec.get("availability_zone")
    if az not in (None, AZ):
        raise BadRequest(f"Invalid input received: Availability zone '{str(az)[:40]}' is invalid.")
    if spec.get("backup_id") is not None:
        vol = await c.manager.create_volume_from_backup(
            c.caller, spec["backup_id"], name=spec.get("name"), size=spec.get("size")
        )
        return ok({"volume": detail(c, vol)}, 202)
    vol = await c.manager.create_volume(
        c.caller,
        size=spec.get("size"),
        name=spec.get("name", spec.get("display_name")),
        description=spec.get("description", spec.get("display_description")),
        volume_type=spec.get("volume_type"),
        snapshot_id=spec.get("snapshot_id"),
        source_volid=spec.get("source_volid"),
        image_ref=spec.get("imageRef"),
        metadata=spec.get("metadata"),
        multiattach=spec.get("multiattach"),
    )
    return ok({"volume": detail(c, vol)}, 202)


async def handle_show_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"volume": detail(c, c.manager.get_volume(c.caller, c.param("volume_id")))})


async def handle_update_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    changes = await c.body("volume")
    if not isinstance(changes, dict):
        raise BadRequest("Invalid input received: 'volume' must be an object.")
    vol = await c.manager.update_volume(c.caller, c.param("volume_id"), changes)
    return ok({"volume": detail(c, vol)})


async def handle_delete_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    cascade = flag(c.query.get("cascade"))
    force = flag(c.query.get("force"))
    await c.manager.delete_volume(c.caller, c.param("volume_id"), cascade=cascade, force=force)
    return ok(status=202)


# -- metadata ------------------------------------------------------------------------


async def handle_show_metadata(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"metadata": c.manager.get_volume(c.caller, c.param("volume_id")).metadata})


async def handle_set_metadata(request: web.Request) -> web.Response:
    """POST merges the given items, PUT replaces them all."""
    c = ctx(request)
    items = await c.body("metadata")
    replace = request.method == "PUT"
    meta = await c.manager.set_volume_metadata(
        c.caller, c.param("volume_id"), items, replace=replace
    )
    return ok({"metadata": meta})


async def handle_show_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    meta = c.manager.get_volume(c.caller, c.param("volume_id")).metadata
    key = c.param("key")
    if key not in meta:
        raise NotFound(f"Volume {c.param('volume_id')} has no metadata with key {key[:80]}.")
    return ok({"meta": {key: meta[key]}})


async def handle_set_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    item = await c.body("meta")
    key = c.param("key")
    if not isinstance(item, dict) or list(item) != [key]:
        raise BadRequest("Request body and URI mismatch: 'meta' must hold exactly the URI's key.")
    await c.manager.set_volume_metadata(c.caller, c.param("volume_id"), item)
    return ok({"meta": item})


async def handle_delete_metadata_item(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.manager.delete_volume_metadata(c.caller, c.param("volume_id"), c.param("key"))
    return ok(status=200)


# -- actions -------------------------------------------------------------------------

Action = Callable[[Ctx, str, Any], Awaitable[web.Response]]


def _obj(args: Any) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise BadRequest("Invalid input received: the action's arguments must be an object.")
    return args


async def _extend(c: Ctx, vid: str, args: Any) -> web.Response:
    """An in-use volume grows only from microversion 3.42 on, as in Cinder."""
    if not c.at_least(3, 42) and c.manager.get_volume(c.caller, vid).status == "in-use":
        raise BadRequest(
            f"Invalid volume {vid}: extending an in-use volume needs microversion 3.42 or later."
        )
    await c.manager.extend_volume(c.caller, vid, _obj(args).get("new_size"))
    return ok(status=202)


async def _reserve(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.reserve(c.caller, vid)
    return ok(status=202)


async def _unreserve(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.unreserve(c.caller, vid)
    return ok(status=202)


async def _initialize(c: Ctx, vid: str, args: Any) -> web.Response:
    info = await c.manager.initialize_connection(c.caller, vid, _obj(args).get("connector"))
    return ok({"connection_info": info})


async def _attach(c: Ctx, vid: str, args: Any) -> web.Response:
    a = _obj(args)
    await c.manager.attach_legacy(
        c.caller,
        vid,
        instance_uuid=a.get("instance_uuid"),
        mountpoint=a.get("mountpoint"),
        host_name=a.get("host_name"),
    )
    return ok(status=202)


async def _begin_detaching(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.begin_detaching(c.caller, vid)
    return ok(status=202)


async def _roll_detaching(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.begin_detaching(c.caller, vid, roll=True)
    return ok(status=202)


async def _terminate(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.terminate_connection(c.caller, vid, _obj(args).get("connector"))
    return ok(status=202)


async def _detach(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.detach_legacy(c.caller, vid, _obj(args).get("attachment_id"))
    return ok(status=202)


async def _force_detach(c: Ctx, vid: str, args: Any) -> web.Response:
    """Admin: end an attachment whoever made it; a server that held it is told (and updated)."""
    att = await c.manager.force_detach(c.caller, vid, _obj(args).get("attachment_id"))
    compute_url = c.request.app[COMPUTE_URL]
    if att.service_owned and att.instance_uuid and compute_url:
        token = c.request.headers.get("X-Auth-Token", "")
        await compute_events.volume_detached(compute_url, token, att.instance_uuid, vid)
    return ok(status=202)


async def _readonly(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.set_volume_flag(c.caller, vid, "readonly", _obj(args).get("readonly"))
    return ok(status=202)


async def _bootable(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.set_volume_flag(c.caller, vid, "bootable", _obj(args).get("bootable"))
    return ok(status=200)


async def _retype(c: Ctx, vid: str, args: Any) -> web.Response:
    a = _obj(args)
    await c.manager.retype_volume(c.caller, vid, a.get("new_type"), a.get("migration_policy"))
    return ok(status=202)


async def _force_delete(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.delete_volume(c.caller, vid, force=True)
    return ok(status=202)


async def _reset_status(c: Ctx, vid: str, args: Any) -> web.Response:
    await c.manager.reset_status(c.caller, vid, _obj(args).get("status"))
    return ok(status=202)


ACTIONS: dict[str, Action] = {
    "os-extend": _extend,
    "os-reserve": _reserve,
    "os-unreserve": _unreserve,
    "os-initialize_connection": _initialize,
    "os-attach": _attach,
    "os-begin_detaching": _begin_detaching,
    "os-roll_detaching": _roll_detaching,
    "os-terminate_connection": _terminate,
    "os-detach": _detach,
    "os-force_detach": _force_detach,
    "os-update_readonly_flag": _readonly,
    "os-set_bootable": _bootable,
    "os-reset_status": _reset_status,
    "os-force_delete": _force_delete,
    "os-retype": _retype,
}


async def handle_volume_action(request: web.Request) -> web.Response:
    c = ctx(request)
    body = await c.body()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid input received: an action body has exactly one key.")
    ((name, args),) = body.items()
    action = ACTIONS.get(name)
    if action is None:
        raise BadRequest(f"There is no such action: {str(name)[:60]}")
    return await action(c, c.param("volume_id"), args)


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    v = f"{prefix}/volumes"
    router.add_get(v, handle_list_volumes)
    router.add_get(f"{v}/detail", handle_list_volumes_detail)
    router.add_post(v, handle_create_volume)
    router.add_get(f"{v}/{{volume_id}}", handle_show_volume)
    router.add_put(f"{v}/{{volume_id}}", handle_update_volume)
    router.add_delete(f"{v}/{{volume_id}}", handle_delete_volume)
    router.add_post(f"{v}/{{volume_id}}/action", handle_volume_action)
    router.add_get(f"{v}/{{volume_id}}/metadata", handle_show_metadata)
    router.add_post(f"{v}/{{volume_id}}/metadata", handle_set_metadata)
    router.add_put(f"{v}/{{volume_id}}/metadata", handle_set_metadata)
    router.add_get(f"{v}/{{volume_id}}/metadata/{{key}}", handle_show_metadata_item)
    router.add_put(f"{v}/{{volume_id}}/metadata/{{key}}", handle_set_metadata_item)
    router.add_delete(f"{v}/{{volume_id}}/metadata/{{key}}", handle_delete_metadata_item)
