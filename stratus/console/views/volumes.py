"""Volumes: list, create, extend, snapshot, back up and restore, attach, detach, delete.

Everything goes to the volume API (Cinder v3 shapes, ``[volume]``) with the
viewer's token. A volume a server holds is attached and detached through the
compute service (``/servers/<id>/os-volume_attachments``), which hot-plugs
it; "connect a host" makes an attachment with an iSCSI initiator's
connector (as ``stratus volume attach`` does) and shows its connection info
with a ``qemu-io`` line to copy. Backups in progress redraw their row every
second (htmx polling of the backup's ``progress`` and ``status``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from aiohttp import web

from stratus.console.auth import page, viewer
from stratus.console.cloudapi import (
    api_json,
    compute_url,
    form_int,
    form_text,
    ident,
    image_url,
    try_json,
    volume_api,
)
from stratus.console.services import ServiceError
from stratus.console.templating import NavEntry, add_nav, fragment, render

MAX_GIB = 16 * 1024
BUSY_BACKUP = frozenset(("creating", "restoring", "deleting"))
INITIATOR = re.compile(r"^iqn\.\d{4}-\d{2}\.[a-z0-9.-]+(:[A-Za-z0-9._:-]+)?$")
DEFAULT_INITIATOR = "iqn.2024-01.org.example:host1"


def qemu_io_line(data: dict[str, Any], initiator: str) -> str:
    """The README's ``qemu-io --image-opts`` line for an attachment's iSCSI connection info."""
    opts = [
        "driver=iscsi",
        "transport=tcp",
        f"portal={data.get('target_portal', '')}",
        f"target={data.get('target_iqn', '')}",
        f"lun={data.get('target_lun', 0)}",
    ]
    if data.get("auth_username"):
        opts += [f"user={data['auth_username']}", f"password={data.get('auth_password', '')}"]
    opts.append(f"initiator-name={initiator}")
    return f'qemu-io --image-opts {",".join(opts)} -c "read 0 1M"'


def image_gib(image: Any) -> int:
    """The GiB a volume needs for an image: its size rounded up, at least its min_disk and 1."""
    info: dict[str, Any] = image if isinstance(image, dict) else {}
    size, min_disk = info.get("size"), info.get("min_disk")
    size = size if isinstance(size, int) else 0
    min_disk = min_disk if isinstance(min_disk, int) else 0
    return max(1, -(-size // 1024**3), min_disk)


def _vid(request: web.Request, key: str = "volume_id") -> str:
    return ident(request.match_info[key])


def _back(volume_id: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/volumes/v/{quote(volume_id)}")


def _server_names(servers: list[dict[str, Any]]) -> dict[str, str]:
    return {str(s.get("id")): str(s.get("name") or s.get("id")) for s in servers}


# -- the list ------------------------------------------------------------------------------


@page("reader")
async def volumes_page(request: web.Request) -> web.StreamResponse:
    vols = (await volume_api(request, "GET", "/volumes/detail")).get("volumes", [])
    snaps = (await volume_api(request, "GET", "/snapshots/detail")).get("snapshots", [])
    backups = (await volume_api(request, "GET", "/backups/detail")).get("backups", [])
    who = viewer(request)
    types: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    if who.may("member"):
        types = (await volume_api(request, "GET", "/types")).get("volume_types", [])
        images = await try_json(request, image_url(request, "/images"), "images")
    servers = _server_names(await try_json(request, compute_url(request, "/servers"), "servers"))
    return render(
        request,
        "volumes/list.html",
        volumes=vols,
        snapshots=snaps,
        backups=backups,
        types=types,
        images=images,
        servers=servers,
        busy=BUSY_BACKUP,
    )


@page("member")
async def create_volume(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    spec: dict[str, Any] = {"name": form_text(form.get("name"))}
    source = str(form.get("source", "blank"))
    size_text = str(form.get("size", "")).strip()
    if size_text or source == "blank":
        spec["size"] = form_int(size_text, 1, MAX_GIB, "size (GiB)")
    vtype = form_text(form.get("volume_type"))
    if vtype:
        spec["volume_type"] = vtype
    if source in ("snapshot", "image", "backup"):
        key = {"snapshot": "snapshot_id", "image": "imageRef", "backup": "backup_id"}[source]
        spec[key] = ident(str(form.get(f"{source}_id", "")))
    elif source != "blank":
        raise web.HTTPBadRequest(text="unknown source")
    if source == "image" and "size" not in spec:
        # The volume API (as Cinder) needs a size with an image: the image's, in whole GiB.
        image = await api_json(request, "GET", image_url(request, f"/images/{spec['imageRef']}"))
        spec["size"] = image_gib(image)
    vol = (await volume_api(request, "POST", "/volumes", {"volume": spec}))["volume"]
    viewer(request).session.flash(f"Volume {vol.get('name') or vol['id']} is being created.")
    raise _back(vol["id"])


# -- one volume -----------------------------------------------------------------------------


@page("reader")
async def volume_page(request: web.Request) -> web.StreamResponse:
    vid = _vid(request)
    vol = (await volume_api(request, "GET", f"/volumes/{vid}"))["volume"]
    snaps = (await volume_api(request, "GET", f"/snapshots/detail?volume_id={vid}")).get(
        "snapshots", []
    )
    backups = (await volume_api(request, "GET", f"/backups/detail?volume_id={vid}")).get(
        "backups", []
    )
    servers = await try_json(request, compute_url(request, "/servers/detail"), "servers")
    return render(
        request,
        "volumes/volume.html",
        volume=vol,
        snapshots=[s for s in snaps if s.get("volume_id") == vid],
        backups=[b for b in backups if b.get("volume_id") == vid],
        servers=servers,
        names=_server_names(servers),
        busy=BUSY_BACKUP,
        default_initiator=DEFAULT_INITIATOR,
    )


@page("member")
async def extend_volume(request: web.Request) -> web.StreamResponse:
    vid = _vid(request)
    form = await request.post()
    size = form_int(form.get("size"), 1, MAX_GIB, "new size (GiB)")
    await volume_api(request, "POST", f"/volumes/{vid}/action", {"os-extend": {"new_size": size}})
    viewer(request).session.flash(f"Volume extended to {size} GiB.")
    raise _back(vid)


@page("member")
async def snapshot_volume(request: web.Request) -> web.StreamResponse:
    vid = _vid(request)
    form = await request.post()
    spec = {"volume_id": vid, "name": form_text(form.get("name")), "force": True}
    await volume_api(request, "POST", "/snapshots", {"snapshot": spec})
    viewer(request).session.flash("Snapshot started.")
    raise _back(vid)


@page("member")
async def backup_volume(request: web.Request) -> web.StreamResponse:
    vid = _vid(request)
    form = await request.post()
    spec = {
        "volume_id": vid,
        "name": form_text(form.get("name")),
        "incremental": form.get("incremental") == "on",
        "force": True,
    }
    await volume_api(request, "POST", "/backups", {"backup": spec})
    viewer(request).session.flash("Backup started: its progress shows below.")
    raise _back(vid)


@page("member")
async def delete_volume(request: web.Request) -> web.StreamResponse:
    vid = _vid(request)
    await volume_api(request, "DELETE", f"/volumes/{vid}")
    viewer(request).session.flash("Volume deleted.")
    raise web.HTTPSeeOther("/volumes")


@page("member")
async def attach_server(request: web.Request) -> web.StreamResponse:
    """Through the compute service: it hot-plugs the volume into the running server."""
    vid = _vid(request)
    form = await request.post()
    sid = ident(str(form.get("server_id", "")))
    body = {"volumeAttachment": {"volumeId": vid}}
    await api_json(
        request, "POST", compute_url(request, f"/servers/{sid}/os-volume_attachments"), body
    )
    viewer(request).session.flash("Attaching to the server.")
    raise _back(vid)


@page("member")
async def connect_host(request: web.Request) -> web.StreamResponse:
    """An attachment for an iSCSI initiator (a host, not a server): its connection info."""
    vid = _vid(request)
    form = await request.post()
    initiator = form_text(form.get("initiator"))
    if not INITIATOR.match(initiator):
        raise web.HTTPBadRequest(text="an initiator name looks like iqn.2024-01.org.example:host1")
    connector = {"initiator": initiator, "multipath": False, "platform": "x86_64"}
    spec = {"volume_uuid": vid, "connector": connector, "mode": "rw"}
    att = (await volume_api(request, "POST", "/attachments", {"attachment": spec}))["attachment"]
    try:
        await volume_api(request, "POST", f"/attachments/{att['id']}/action", {"os-complete": None})
    except ServiceError:
        await volume_api(request, "DELETE", f"/attachments/{att['id']}")
        raise
    raise web.HTTPSeeOther(f"/volumes/v/{vid}/attachments/{att['id']}")


@page("member")
async def attachment_page(request: web.Request) -> web.StreamResponse:
    vid = _vid(request)
    aid = _vid(request, "attachment_id")
    att = (await volume_api(request, "GET", f"/attachments/{aid}"))["attachment"]
    if att.get("volume_id") != vid:
        raise web.HTTPNotFound(text="no such attachment")
    info = att.get("connection_info") or {}
    data = info.get("data") or {}
    initiator = str((att.get("connector") or {}).get("initiator", DEFAULT_INITIATOR))
    return render(
        request,
        "volumes/attachment.html",
        volume_id=vid,
        attachment=att,
        data=data,
        qemu_io=qemu_io_line(data, initiator) if data else "",
    )


@page("member")
async def detach(request: web.Request) -> web.StreamResponse:
    """A server's volume through the compute service (it unplugs it first); a host's directly."""
    vid = _vid(request)
    aid = _vid(request, "attachment_id")
    vol = (await volume_api(request, "GET", f"/volumes/{vid}"))["volume"]
    att = next((a for a in vol.get("attachments", []) if a.get("attachment_id") == aid), None)
    server = att.get("server_id") if att else None
    if server:
        url = compute_url(request, f"/servers/{ident(server)}/os-volume_attachments/{vid}")
        await api_json(request, "DELETE", url)
    else:
        await volume_api(request, "DELETE", f"/attachments/{aid}")
    viewer(request).session.flash("Detaching.")
    raise _back(vid)


# -- snapshots and backups --------------------------------------------------------------------


@page("member")
async def delete_snapshot(request: web.Request) -> web.StreamResponse:
    sid = _vid(request, "snapshot_id")
    await volume_api(request, "DELETE", f"/snapshots/{sid}")
    viewer(request).session.flash("Snapshot deleted.")
    raise web.HTTPSeeOther("/volumes")


@page("reader")
async def backup_row(request: web.Request) -> web.StreamResponse:
    """One backup's row (htmx polls it while the backup is busy)."""
    bid = _vid(request, "backup_id")
    backup = (await volume_api(request, "GET", f"/backups/{bid}"))["backup"]
    html = fragment(request, "volumes/_backup_row.html", b=backup, busy=BUSY_BACKUP)
    return web.Response(text=html, content_type="text/html")


@page("member")
async def restore_backup(request: web.Request) -> web.StreamResponse:
    bid = _vid(request, "backup_id")
    form = await request.post()
    body: dict[str, Any] = {"name": form_text(form.get("name")) or None}
    target = str(form.get("volume_id", "")).strip()
    if target:
        body["volume_id"] = ident(target)
    body = {k: v for k, v in body.items() if v is not None}
    out = await volume_api(request, "POST", f"/backups/{bid}/restore", {"restore": body})
    vid = (out or {}).get("restore", {}).get("volume_id")
    viewer(request).session.flash("Restoring the backup.")
    raise _back(vid) if vid else web.HTTPSeeOther("/volumes")


@page("member")
async def delete_backup(request: web.Request) -> web.StreamResponse:
    bid = _vid(request, "backup_id")
    await volume_api(request, "DELETE", f"/backups/{bid}")
    viewer(request).session.flash("Backup deleted.")
    raise web.HTTPSeeOther("/volumes")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/volumes", volumes_page)
    r.add_post("/volumes", create_volume)
    r.add_get("/volumes/v/{volume_id}", volume_page)
    r.add_post("/volumes/v/{volume_id}/extend", extend_volume)
    r.add_post("/volumes/v/{volume_id}/snapshot", snapshot_volume)
    r.add_post("/volumes/v/{volume_id}/backup", backup_volume)
    r.add_post("/volumes/v/{volume_id}/delete", delete_volume)
    r.add_post("/volumes/v/{volume_id}/attach", attach_server)
    r.add_post("/volumes/v/{volume_id}/connect", connect_host)
    r.add_get("/volumes/v/{volume_id}/attachments/{attachment_id}", attachment_page)
    r.add_post("/volumes/v/{volume_id}/attachments/{attachment_id}/detach", detach)
    r.add_post("/volumes/snapshots/{snapshot_id}/delete", delete_snapshot)
    r.add_get("/volumes/backups/{backup_id}/row", backup_row)
    r.add_post("/volumes/backups/{backup_id}/restore", restore_backup)
    r.add_post("/volumes/backups/{backup_id}/delete", delete_backup)
    add_nav(app, NavEntry("Volumes", "/volumes"))
