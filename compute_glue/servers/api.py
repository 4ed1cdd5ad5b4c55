"""The compute API: Nova v2.1 shapes for servers, flavors, actions and volume attachments.

Mounted by the compute service under ``/v2.1``. Errors use Nova's form
``{"<fault>": {"code", "message"}}``. Server actions are parsed into one of
the implemented operations; Nova actions this compute does not offer get
501 naming the action, anything else 400.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from compute_glue import httpkit
from compute_glue.errors import BadRequest, Forbidden, NotFound, NotImplementedOp
from compute_glue.servers import bodies, hostinfo, microversion, quotas, swap
from compute_glue.servers.guards import require_writer
from compute_glue.servers.manager import ServerManager
from compute_glue.servers.model import FLAVORS, Server
from stratus.http import requestid
from stratus.identity import IdentityStore, Principal

SERVERS: web.AppKey[ServerManager] = web.AppKey("servers", ServerManager)
FAULTS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    500: "computeFault",
    501: "notImplemented",
    503: "serviceUnavailable",
}
NOVA_ONLY = {
    "pause",
    "unpause",
    "suspend",
    "resume",
    "resize",
    "confirmResize",
    "revertResize",
    "createImage",
    "migrate",
    "os-migrateLive",
    "rescue",
    "unrescue",
    "shelve",
    "unshelve",
    "lock",
    "unlock",
    "rebuild",
    "changePassword",
    "evacuate",
    "createBackup",
    "addFloatingIp",
    "removeFloatingIp",
    "os-getVNCConsole",
    "os-getSerialConsole",
    "trigger_crash_dump",
    "restore",
    "forceDelete",
    "addSecurityGroup",
    "removeSecurityGroup",
    "os-resetState",
    "injectNetworkInfo",
    "resetNetwork",
}


def render_error(status: int, kind: str, message: str) -> web.Response:
    fault = kind if kind in FAULTS.values() else FAULTS.get(status, "computeFault")
    return web.json_response({fault: {"code": status, "message": message}}, status=status)


def _mgr(request: web.Request) -> ServerManager:
    return request.app[SERVERS]


def _who(request: web.Request) -> Principal:
    return httpkit.principal(request)


def _version(request: web.Request) -> tuple[int, int]:
    return request.get(microversion.VERSION, microversion.MIN)


def _view(request: web.Request, server: Server) -> dict[str, Any]:
    who = _who(request)
    return server.view(_mgr(request).addresses(server), who.is_reseller_admin, _version(request))


def _project_servers(request: web.Request, project: str) -> list[Server]:
    return [s for s in _mgr(request).store.list(_who(request)) if s.project == project]


def version_doc(request: web.Request) -> dict[str, Any]:
    """Nova's v2.1 version document, with the microversions this compute serves."""
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": microversion.text(microversion.MAX),
        "min_version": microversion.text(microversion.MIN),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": f"{request.scheme}://{request.host}/v2.1/"}],
        "media-types": [
            {"base": "application/json",
             "type": "application/vnd.openstack.compute+json;version=2.1"}
        ],
    }  # fmt: skip


async def handle_versions(request: web.Request) -> web.Response:
    """``GET /v2.1/`` (one version) and ``GET /v2.1/versions`` style lists (all of them)."""
    if request.path.rstrip("/").endswith("v2.1"):
        return web.json_response({"version": version_doc(request)})
    return web.json_response({"versions": [version_doc(request)]})


async def handle_list_flavors(request: web.Request) -> web.Response:
    detail = request.path.endswith("/detail")
    version = _version(request)
    flavors = [
        f.view(version)
        if detail
        else {"id": f.id, "name": f.name, "links": f.view()["links"]}
        | ({"description": None} if version >= (2, 55) else {})
        for f in FLAVORS
    ]
    return web.json_response({"flavors": flavors})


async def handle_show_flavor(request: web.Request) -> web.Response:
    for flavor in FLAVORS:
        if flavor.id == request.match_info["flavor_id"]:
            return web.json_response({"flavor": flavor.view(_version(request))})
    raise NotFound("Flavor could not be found.", kind="itemNotFound")


async def handle_flavor_extra_specs(request: web.Request) -> web.Response:
    """Flavors here carry no extra specs: an empty set, and no key is found."""
    await handle_show_flavor(request)  # 404 for a flavor that does not exist
    key = request.match_info.get("key")
    if key is not None:
        raise NotFound(f"Flavor {request.match_info['flavor_id']} has no extra specs with "
                       f"key {key[:64]}.", kind="itemNotFound")  # fmt: skip
    return web.json_response({"extra_specs": {}})


async def handle_create_server(request: web.Request) -> web.Response:
    spec = await httpkit.read_json(request, "server")
    who = _who(request)
    require_writer(who, "create")  # a reader is refused before the body is looked at
    server = await _mgr(request).create(who, bodies.server_create(spec, who.project))
    body = {
        "server": {
            "id": server.id,
            "links": [{"rel": "self", "href": f"/v2.1/servers/{server.id}"}],
            "OS-DCF:diskConfig": "MANUAL",
        }
    }
    return web.json_response(body, status=202, headers={"Location": f"/v2.1/servers/{server.id}"})


async def handle_list_servers(request: web.Request) -> web.Response:
    who = _who(request)
    servers = _mgr(request).store.list(who)
    # Nova: everyone, the admin too, lists their own project unless the admin asks for
    # all_tenants (or names a project_id); a non-admin's all_tenants changes nothing.
    wide = who.is_reseller_admin and _flag(request.query.get("all_tenants"))
    project = request.query.get("project_id") or request.query.get("tenant_id")
    if who.is_reseller_admin and project:
        servers = [s for s in servers if s.project == project]
    elif not wide:
        servers = [s for s in servers if s.project == who.project]
    for key in ("name", "status"):
        if key in request.query:
            wanted = request.query[key]
            servers = [s for s in servers if getattr(s, key) == wanted]
    servers.sort(key=lambda s: (s.created_at, s.id), reverse=True)
    if request.path.endswith("/detail"):
        shown = [_view(request, s) for s in servers]
    else:
        shown = [
            {
                "id": s.id,
                "name": s.name,
                "links": [{"rel": "self", "href": f"/v2.1/servers/{s.id}"}],
            }
            for s in servers
        ]
    return web.json_response({"servers": shown})


def _flag(raw: str | None) -> bool:
    """A query flag as Nova reads it: present and not a "false" word."""
    return raw is not None and raw.lower() not in ("0", "false", "off", "no")


async def handle_show_server(request: web.Request) -> web.Response:
    server = _mgr(request).get(_who(request), request.match_info["server_id"])
    return web.json_response({"server": _view(request, server)})


async def handle_delete_server(request: web.Request) -> web.Response:
    await _mgr(request).delete(_who(request), request.match_info["server_id"])
    return web.Response(status=204)


async def handle_action(request: web.Request) -> web.Response:
    action = bodies.server_action(await httpkit.read_json(request))
    m, who, server_id = _mgr(request), _who(request), request.match_info["server_id"]
    name = action.name
    if name == "os-stop":
        await m.stop(who, server_id)
    elif name == "os-start":
        await m.start_server(who, server_id)
    elif name == "reboot":
        await m.reboot(who, server_id, action.reboot_type)
    elif name == "os-getConsoleOutput":
        return web.json_response({"output": m.console(who, server_id, action.console_length)})
    elif name in NOVA_ONLY:
        m.refuse_action(who, server_id, name)
        raise NotImplementedOp(f"Action '{name}' is not implemented by this compute.")
    else:
        raise BadRequest(f"There is no such action: {name[:64]}", kind="badRequest")
    return web.Response(status=202)


async def handle_list_attachments(request: web.Request) -> web.Response:
    server = _mgr(request).get(_who(request), request.match_info["server_id"])
    shown = [a.view(server.id) for a in server.volumes() if a.state == "attached"]
    return web.json_response({"volumeAttachments": shown})


async def handle_show_attachment(request: web.Request) -> web.Response:
    server = _mgr(request).get(_who(request), request.match_info["server_id"])
    att = server.find_volume(request.match_info["volume_id"])
    if att is None or att.state != "attached":
        raise NotFound("The volume is not attached to this instance.", kind="itemNotFound")
    return web.json_response({"volumeAttachment": att.view(server.id)})


async def handle_attach(request: web.Request) -> web.Response:
    spec = await httpkit.read_json(request, "volumeAttachment")
    server_id = request.match_info["server_id"]
    req = bodies.volume_attach(spec, at_2_79=microversion.at_least(request, 2, 79))
    att = await _mgr(request).volumes.attach(_who(request), server_id, req)
    return web.json_response({"volumeAttachment": att.view(server_id)})


async def handle_detach(request: web.Request) -> web.Response:
    volumes = _mgr(request).volumes
    await volumes.detach(
        _who(request), request.match_info["server_id"], request.match_info["volume_id"]
    )
    return web.Response(status=202)


async def handle_swap(request: web.Request) -> web.Response:
    """Nova's swap_volume (admin): here, one step of the volume service's live migration
    of the server's volume to another backend (``compute_glue.servers.swap``)."""
    who = _who(request)
    if not who.is_admin:
        raise Forbidden(
            "Policy doesn't allow os_compute_api:os-volumes-attachments:swap.", kind="forbidden"
        )
    server_id, volume_id = request.match_info["server_id"], request.match_info["volume_id"]
    _mgr(request).get(who, server_id)
    step, info = swap.parse_swap(await httpkit.read_json(request, "volumeAttachment"), volume_id)
    await _mgr(request).swaps.step(server_id, volume_id, step, info)
    return web.Response(status=202)


async def handle_external_events(request: web.Request) -> web.Response:
    """Nova's server external events (admin): news of a server's resources from elsewhere."""
    who = _who(request)
    if not who.is_admin:
        raise Forbidden(
            "Policy doesn't allow os_compute_api:os-server-external-events:create.",
            kind="forbidden",
        )
    events = bodies.external_events(await httpkit.read_json(request))
    out = []
    for ev in events:
        try:
            found = await _mgr(request).volumes.force_detached(who, ev.server_id, ev.volume_id)
        except NotFound:
            found = False
        out.append({**ev.body, "status": "completed" if found else "failed",
                    "code": 200 if found else 404})  # fmt: skip
    status = 200 if any(e["code"] == 200 for e in out) else 404
    return web.json_response({"events": out}, status=status)


async def handle_interfaces(request: web.Request) -> web.Response:
    m = _mgr(request)
    server = m.get(_who(request), request.match_info["server_id"])
    out = []
    for p in server.ports:
        try:
            port = m.networks.get_port(None, p["port_id"])
        except NotFound:
            continue
        out.append(
            {
                "port_id": port.id,
                "net_id": port.network_id,
                "mac_addr": port.mac_address,
                "fixed_ips": port.fixed_ips,
                "port_state": port.view()["status"],
            }
        )
    return web.json_response({"interfaceAttachments": out})


def make_app(manager: ServerManager, identity: IdentityStore) -> web.Application:
    """The Nova-shaped sub-application (mount it at ``/v2.1``)."""
    app = web.Application(
        client_max_size=httpkit.MAX_JSON,
        middlewares=[
            microversion.stamping(),
            httpkit.error_middleware(render_error, requestid.COMPUTE),
            microversion.middleware(),
            httpkit.auth_middleware(lambda path: path.rstrip("/") not in ("", "/v2.1")),
        ],
    )
    app[SERVERS] = manager
    app[httpkit.IDENTITY] = identity
    app.on_response_prepare.append(requestid.stamp)
    r = app.router
    r.add_get("/", handle_versions)
    r.add_get("/flavors", handle_list_flavors)
    r.add_get("/flavors/detail", handle_list_flavors)
    r.add_get("/flavors/{flavor_id}", handle_show_flavor)
    r.add_get("/flavors/{flavor_id}/os-extra_specs", handle_flavor_extra_specs)
    r.add_get("/flavors/{flavor_id}/os-extra_specs/{key}", handle_flavor_extra_specs)
    r.add_post("/servers", handle_create_server)
    r.add_get("/servers", handle_list_servers)
    r.add_get("/servers/detail", handle_list_servers)
    r.add_get("/servers/{server_id}", handle_show_server)
    r.add_delete("/servers/{server_id}", handle_delete_server)
    r.add_post("/servers/{server_id}/action", handle_action)
    r.add_get("/servers/{server_id}/os-volume_attachments", handle_list_attachments)
    r.add_post("/servers/{server_id}/os-volume_attachments", handle_attach)
    r.add_get("/servers/{server_id}/os-volume_attachments/{volume_id}", handle_show_attachment)
    r.add_delete("/servers/{server_id}/os-volume_attachments/{volume_id}", handle_detach)
    r.add_put("/servers/{server_id}/os-volume_attachments/{volume_id}", handle_swap)
    r.add_get("/servers/{server_id}/os-interface", handle_interfaces)
    r.add_post("/os-server-external-events", handle_external_events)
    hostinfo.add_routes(app, _project_servers)
    quotas.add_routes(app, _project_servers)
    return app
