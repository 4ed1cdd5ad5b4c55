"""Compute: images (upload with progress, visibility), networks and subnets, servers.

Everything goes to compute_glue's HTTP APIs with the viewer's token: images
at the image API (Glance v2 shapes, ``[image]``), networks and subnets at the
network API (Neutron v2.0, ``[network]``), servers at the compute API (Nova
v2.1, ``[compute]``). Those APIs grow; the pages read only the common fields
and show what is missing as empty. A running server's console log redraws
every 2 s (htmx polling of ``os-getConsoleOutput``).
"""

from __future__ import annotations

import base64
import ipaddress
import json
from typing import Any
from urllib.parse import quote

from aiohttp import web

from stratus.console.auth import page, viewer
from stratus.console.cloudapi import (
    api_json,
    compute_url,
    form_text,
    ident,
    image_url,
    network_url,
    try_json,
    volume_api,
)
from stratus.console.services import SERVICES, ServiceError
from stratus.console.templating import NavEntry, add_nav, fragment, render

DISK_FORMATS = ("qcow2", "raw")
# What the image API accepts (compute_glue.images.model.VISIBILITIES); public: cloud admins.
VISIBILITIES = ("private", "public")
LOG_LINES = 200
MAX_IMAGE = 64 * 1024**3
MAX_USER_DATA = 65535  # Nova's limit on user_data (base64 characters)


def _id(request: web.Request, key: str) -> str:
    return ident(request.match_info[key])


# -- servers ---------------------------------------------------------------------------------


@page("reader")
async def servers_page(request: web.Request) -> web.StreamResponse:
    servers = await api_json(request, "GET", compute_url(request, "/servers/detail"))
    who = viewer(request)
    images = flavors = networks = volumes = []
    if who.may("member"):
        images = await try_json(request, image_url(request, "/images"), "images")
        flavors = await try_json(request, compute_url(request, "/flavors/detail"), "flavors")
        networks = await try_json(request, network_url(request, "/networks"), "networks")
        try:
            found = (await volume_api(request, "GET", "/volumes/detail")).get("volumes", [])
        except ServiceError:
            found = []
        volumes = [v for v in found if v.get("status") == "available"]
    return render(
        request,
        "compute/servers.html",
        servers=(servers or {}).get("servers", []),
        images=[i for i in images if i.get("status") == "active"],
        flavors=flavors,
        networks=networks,
        volumes=volumes,
    )


@page("member")
async def create_server(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = form_text(form.get("name"))
    if not name:
        raise web.HTTPBadRequest(text="a server needs a name")
    spec: dict[str, Any] = {
        "name": name,
        "imageRef": ident(str(form.get("image", ""))),
        "flavorRef": ident(str(form.get("flavor", ""))),
    }
    net = str(form.get("network", "")).strip()
    spec["networks"] = [{"uuid": ident(net)}] if net else "none"
    script = str(form.get("user_data", "")).replace("\r\n", "\n")  # a textarea sends CRLF
    if script.strip():
        encoded = base64.b64encode(script.encode()).decode()
        if len(encoded) > MAX_USER_DATA:
            raise web.HTTPBadRequest(text="the script (user data) is over 48 KiB")
        spec["user_data"] = encoded
    vols = [ident(str(v)) for v in form.getall("volume", []) if str(v)]
    if vols:
        spec["block_device_mapping_v2"] = [
            {
                "uuid": v,
                "source_type": "volume",
                "destination_type": "volume",
                "boot_index": -1,
                "delete_on_termination": False,
            }
            for v in vols
        ]
    out = await api_json(request, "POST", compute_url(request, "/servers"), {"server": spec})
    sid = (out or {}).get("server", {}).get("id")
    viewer(request).session.flash(f"Server {name} is being created.")
    raise web.HTTPSeeOther(f"/compute/servers/{quote(sid)}" if sid else "/compute")


@page("reader")
async def server_page(request: web.Request) -> web.StreamResponse:
    sid = _id(request, "server_id")
    server = (await api_json(request, "GET", compute_url(request, f"/servers/{sid}")))["server"]
    atts = await try_json(
        request, compute_url(request, f"/servers/{sid}/os-volume_attachments"), "volumeAttachments"
    )
    return render(request, "compute/server.html", server=server, attachments=atts)


@page("reader")
async def server_log(request: web.Request) -> web.StreamResponse:
    """The last lines of the server's console (htmx polls this)."""
    sid = _id(request, "server_id")
    body = {"os-getConsoleOutput": {"length": LOG_LINES}}
    try:
        out = await api_json(request, "POST", compute_url(request, f"/servers/{sid}/action"), body)
        text = str((out or {}).get("output", ""))
    except ServiceError as exc:
        text = f"(no console output: {exc.message})"
    html = fragment(request, "compute/_log.html", log=text, server_id=sid)
    return web.Response(text=html, content_type="text/html")


ACTIONS: dict[str, dict[str, Any]] = {
    "start": {"os-start": None},
    "stop": {"os-stop": None},
    "reboot": {"reboot": {"type": "SOFT"}},
}


@page("member")
async def server_action(request: web.Request) -> web.StreamResponse:
    sid = _id(request, "server_id")
    action = request.match_info["action"]
    if action == "delete":
        await api_json(request, "DELETE", compute_url(request, f"/servers/{sid}"))
        viewer(request).session.flash("Server deleted.")
        raise web.HTTPSeeOther("/compute")
    if action not in ACTIONS:
        raise web.HTTPNotFound(text="no such action")
    await api_json(request, "POST", compute_url(request, f"/servers/{sid}/action"), ACTIONS[action])
    viewer(request).session.flash(f"{action.capitalize()} requested.")
    raise web.HTTPSeeOther(f"/compute/servers/{sid}")


# -- images ------------------------------------------------------------------------------------


@page("reader")
async def images_page(request: web.Request) -> web.StreamResponse:
    images = (await api_json(request, "GET", image_url(request, "/images"))) or {}
    return render(
        request,
        "compute/images.html",
        images=images.get("images", []),
        formats=DISK_FORMATS,
        visibilities=VISIBILITIES
        if viewer(request).principal.is_reseller_admin
        else VISIBILITIES[:1],
    )


@page("member")
async def create_image(request: web.Request) -> web.StreamResponse:
    """The image record (JSON in, its id out); the browser then PUTs the bytes with progress."""
    form = await request.post()
    name = form_text(form.get("name"))
    disk = str(form.get("disk_format", "qcow2"))
    vis = str(form.get("visibility", "private"))
    if not name or disk not in DISK_FORMATS or vis not in VISIBILITIES:
        raise web.HTTPBadRequest(text="name, disk format or visibility is not valid")
    spec = {"name": name, "disk_format": disk, "container_format": "bare", "visibility": vis}
    img = await api_json(request, "POST", image_url(request, "/images"), spec)
    return web.json_response({"id": img["id"]})


@page("member")
async def upload_image(request: web.Request) -> web.StreamResponse:
    """Stream the browser's bytes to the image API (one PUT; never held in memory)."""
    iid = _id(request, "image_id")
    length = request.content_length
    if length is None or not 0 < length <= MAX_IMAGE:
        raise web.HTTPBadRequest(text="an image upload needs its Content-Length")
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
    token = viewer(request).session.token
    await request.app[SERVICES].call(
        "PUT",
        image_url(request, f"/images/{iid}/file"),
        token,
        headers=headers,
        data=request.content.iter_chunked(256 * 1024),
    )
    return web.json_response({"id": iid})


@page("member")
async def image_visibility(request: web.Request) -> web.StreamResponse:
    iid = _id(request, "image_id")
    form = await request.post()
    vis = str(form.get("visibility", ""))
    if vis not in VISIBILITIES:
        raise web.HTTPBadRequest(text="not a visibility")
    patch = [{"op": "replace", "path": "/visibility", "value": vis}]
    await _patch(request, iid, patch)
    viewer(request).session.flash(f"Image is now {vis}.")
    raise web.HTTPSeeOther("/compute/images")


async def _patch(request: web.Request, iid: str, patch: list[dict[str, Any]]) -> None:
    token = viewer(request).session.token
    await request.app[SERVICES].call(
        "PATCH",
        image_url(request, f"/images/{iid}"),
        token,
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        data=json.dumps(patch),
    )


@page("member")
async def delete_image(request: web.Request) -> web.StreamResponse:
    iid = _id(request, "image_id")
    await api_json(request, "DELETE", image_url(request, f"/images/{iid}"))
    viewer(request).session.flash("Image deleted.")
    raise web.HTTPSeeOther("/compute/images")


# -- networks ----------------------------------------------------------------------------------


@page("reader")
async def networks_page(request: web.Request) -> web.StreamResponse:
    nets = (await api_json(request, "GET", network_url(request, "/networks"))) or {}
    subnets = await try_json(request, network_url(request, "/subnets"), "subnets")
    by_net: dict[str, list[dict[str, Any]]] = {}
    for s in subnets:
        by_net.setdefault(str(s.get("network_id")), []).append(s)
    return render(
        request, "compute/networks.html", networks=nets.get("networks", []), subnets=by_net
    )


@page("member")
async def create_network(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = form_text(form.get("name"))
    cidr_text = form_text(form.get("cidr"))
    try:
        cidr = str(ipaddress.ip_network(cidr_text, strict=True)) if cidr_text else ""
    except ValueError:
        raise web.HTTPBadRequest(text="not a network address (CIDR), e.g. 10.20.0.0/24") from None
    net = await api_json(
        request, "POST", network_url(request, "/networks"), {"network": {"name": name}}
    )
    nid = net["network"]["id"]
    if cidr:
        subnet = {"network_id": nid, "cidr": cidr, "ip_version": 6 if ":" in cidr else 4}
        await api_json(request, "POST", network_url(request, "/subnets"), {"subnet": subnet})
    viewer(request).session.flash(f"Network {name or nid} created.")
    raise web.HTTPSeeOther("/compute/networks")


@page("member")
async def delete_network(request: web.Request) -> web.StreamResponse:
    nid = _id(request, "network_id")
    await api_json(request, "DELETE", network_url(request, f"/networks/{nid}"))
    viewer(request).session.flash("Network deleted.")
    raise web.HTTPSeeOther("/compute/networks")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/compute", servers_page)
    r.add_post("/compute/servers", create_server)
    r.add_get("/compute/servers/{server_id}", server_page)
    r.add_get("/compute/servers/{server_id}/log", server_log)
    r.add_post("/compute/servers/{server_id}/{action}", server_action)
    r.add_get("/compute/images", images_page)
    r.add_post("/compute/images", create_image)
    r.add_put("/compute/images/{image_id}/file", upload_image)
    r.add_post("/compute/images/{image_id}/visibility", image_visibility)
    r.add_post("/compute/images/{image_id}/delete", delete_image)
    r.add_get("/compute/networks", networks_page)
    r.add_post("/compute/networks", create_network)
    r.add_post("/compute/networks/{network_id}/delete", delete_network)
    add_nav(app, NavEntry("Compute", "/compute"))
