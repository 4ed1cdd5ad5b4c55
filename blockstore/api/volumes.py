"""Volumes: list, show, create, update, delete, metadata and the volume actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from blockstore.api import compute_events, metadata, requests, views
from blockstore.api.compute_swap import ComputeSwapClient
from blockstore.api.context import COMPUTE_URL, Ctx, ctx, flag, ok
from blockstore.api.requests import Json
from blockstore.manager.errors import BadRequest
from blockstore.manager.records import Volume


def detail(c: Ctx, vol: Volume) -> dict[str, Any]:
    atts = c.volumes.volume_attachments(c.caller, vol)
    host = c.manager.ctx.host if c.caller.is_cloud_admin else None
    return views.volume_detail(
        c.base, vol, atts, c.types.name_of(vol.volume_type_id), admin_host=host
    )


async def _list(request: web.Request, with_detail: bool) -> web.Response:
    c = ctx(request)
    q = requests.ListQuery.parse(c.query, ("name", "status"), metadata=True)
    items, more = q.run(c.caller, c.volumes.list_volumes)
    shown = [detail(c, v) if with_detail else views.volume_summary(c.base, v) for v in items]
    kind = "volumes/detail" if with_detail else "volumes"
    last = items[-1].id if more else None
    return ok(views.page(c.base, c.project, kind, c.query, shown, last))


async def handle_list_volumes(request: web.Request) -> web.Response:
    return await _list(request, False)


async def handle_list_volumes_detail(request: web.Request) -> web.Response:
    return await _list(request, True)


async def handle_create_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    c.must_write()
    req = requests.parse_volume_create(
        await c.body("volume"),
        max_gb=c.max_volume_gb,
        check_image=c.volumes.images.check_image_ref,
    )
    if isinstance(req, requests.VolumeFromBackup):
        vol = await c.backups.create_volume_from_backup(
            c.caller, req.backup_id, name=req.name, size=req.size
        )
        return ok({"volume": detail(c, vol)}, 202)
    vol = await c.volumes.create_volume(
        c.caller,
        size=req.size,
        name=req.name,
        description=req.description,
        volume_type=req.volume_type,
        snapshot_id=req.snapshot_id,
        source_volid=req.source_volid,
        image_ref=req.image_ref,
        metadata=req.metadata,
        multiattach=req.multiattach,
    )
    return ok({"volume": detail(c, vol)}, 202)


async def handle_show_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"volume": detail(c, c.volumes.get_volume(c.caller, c.param("volume_id")))})


async def handle_update_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    changes = requests.Changes.parse(await c.body("volume"), "volume")
    vol = await c.volumes.update_volume(c.caller, c.param("volume_id"), changes.given)
    return ok({"volume": detail(c, vol)})


async def handle_delete_volume(request: web.Request) -> web.Response:
    c = ctx(request)
    cascade = flag(c.query.get("cascade"))
    force = flag(c.query.get("force"))
    await c.volumes.delete_volume(c.caller, c.param("volume_id"), cascade=cascade, force=force)
    return ok(status=202)


# -- actions -------------------------------------------------------------------------

# An action: the volume's id and the action's arguments as sent (each parses its own).
Action = Callable[[Ctx, str, Json], Awaitable[web.Response]]


async def _extend(c: Ctx, vid: str, args: Json) -> web.Response:
    """An in-use volume grows only from microversion 3.42 on, as in Cinder."""
    if not c.at_least(3, 42) and c.volumes.get_volume(c.caller, vid).status == "in-use":
        raise BadRequest(
            f"Invalid volume {vid}: extending an in-use volume needs microversion 3.42 or later."
        )
    c.must_write()
    new_size = requests.Extend.parse(args, max_gb=c.max_volume_gb).new_size
    await c.volumes.extend_volume(c.caller, vid, new_size)
    return ok(status=202)


async def _reserve(c: Ctx, vid: str, args: Json) -> web.Response:
    await c.attachments.reserve(c.caller, vid)
    return ok(status=202)


async def _unreserve(c: Ctx, vid: str, args: Json) -> web.Response:
    await c.attachments.unreserve(c.caller, vid)
    return ok(status=202)


async def _initialize(c: Ctx, vid: str, args: Json) -> web.Response:
    # The connector is judged first, as the service does; the right to write when it
    # reserves or connects (a reader may not).
    connector = requests.Connect.parse(args).connector
    info = await c.attachments.initialize_connection(c.caller, vid, connector)
    return ok({"connection_info": info})


async def _attach(c: Ctx, vid: str, args: Json) -> web.Response:
    a = requests.Attach.parse(args)
    await c.attachments.attach_legacy(
        c.caller, vid, instance_uuid=a.instance_uuid, mountpoint=a.mountpoint, host_name=a.host_name
    )
    return ok(status=202)


async def _begin_detaching(c: Ctx, vid: str, args: Json) -> web.Response:
    await c.attachments.begin_detaching(c.caller, vid)
    return ok(status=202)


async def _roll_detaching(c: Ctx, vid: str, args: Json) -> web.Response:
    await c.attachments.begin_detaching(c.caller, vid, roll=True)
    return ok(status=202)


async def _terminate(c: Ctx, vid: str, args: Json) -> web.Response:
    c.must_write()
    connector = requests.Connect.parse(args).connector
    await c.attachments.terminate_connection(c.caller, vid, connector)
    return ok(status=202)


async def _detach(c: Ctx, vid: str, args: Json) -> web.Response:
    await c.attachments.detach_legacy(c.caller, vid, requests.Detach.parse(args).attachment_id)
    return ok(status=202)


async def _force_detach(c: Ctx, vid: str, args: Json) -> web.Response:
    """Admin: end an attachment whoever made it; a server that held it is told (and updated)."""
    which = requests.Detach.parse(args).attachment_id
    att = await c.attachments.force_detach(c.caller, vid, which)
    compute_url = c.request.app[COMPUTE_URL]
    if att.service_owned and att.instance_uuid and compute_url:
        token = c.request.headers.get("X-Auth-Token", "")
        await compute_events.volume_detached(compute_url, token, att.instance_uuid, vid)
    return ok(status=202)


async def _readonly(c: Ctx, vid: str, args: Json) -> web.Response:
    c.must_write()
    f = requests.SetFlag.parse(args, "readonly")
    await c.volumes.set_volume_flag(c.caller, vid, f.flag, f.value)
    return ok(status=202)


async def _bootable(c: Ctx, vid: str, args: Json) -> web.Response:
    c.must_write()
    f = requests.SetFlag.parse(args, "bootable")
    await c.volumes.set_volume_flag(c.caller, vid, f.flag, f.value)
    return ok(status=200)


async def _retype(c: Ctx, vid: str, args: Json) -> web.Response:
    c.must_write()
    r = requests.Retype.parse(args)
    await c.volumes.retype_volume(c.caller, vid, r.new_type, r.migration_policy)
    return ok(status=202)


async def _force_delete(c: Ctx, vid: str, args: Json) -> web.Response:
    await c.volumes.delete_volume(c.caller, vid, force=True)
    return ok(status=202)


async def _migrate(c: Ctx, vid: str, args: Json) -> web.Response:
    """Admin: move the volume's bytes to another backend (``openstack volume migrate``)."""
    m = requests.Migrate.parse(args)
    compute_url = c.request.app[COMPUTE_URL]
    token = c.request.headers.get("X-Auth-Token", "")
    swap = ComputeSwapClient(compute_url, token) if compute_url else None
    await c.manager.migrations.migrate_volume(
        c.caller, vid, m.host, force_host_copy=m.force_host_copy, compute=swap
    )
    return ok(status=202)


async def _reset_status(c: Ctx, vid: str, args: Json) -> web.Response:
    await c.volumes.reset_status(c.caller, vid, requests.ResetStatus.parse(args).status)
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
    "os-migrate_volume": _migrate,
}


async def handle_volume_action(request: web.Request) -> web.Response:
    c = ctx(request)
    name, args = requests.one_action(await c.body())
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
    metadata.add_routes(router, f"{v}/{{volume_id}}")
