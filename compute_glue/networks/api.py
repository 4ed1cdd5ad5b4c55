"""The network API: Neutron v2.0 shapes for networks, subnets and ports.

Mounted by the compute service under ``/v2.0``. Lists take Neutron's
filters (any attribute, repeated for OR) plus ``limit`` and ``marker``;
errors use Neutron's ``{"NeutronError": {type, message, detail}}`` form.
Bulk creation (a list body) is refused by name.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from compute_glue import httpkit
from compute_glue.errors import BadRequest
from compute_glue.networks.manager import NetworkManager

NETWORKS: web.AppKey[NetworkManager] = web.AppKey("networks", NetworkManager)
PAGING = ("limit", "marker", "fields", "sort_key", "sort_dir", "page_reverse")


def render_error(status: int, kind: str, message: str) -> web.Response:
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    return web.json_response(body, status=status)


def _mgr(request: web.Request) -> NetworkManager:
    return request.app[NETWORKS]


def _who(request: web.Request) -> Any:
    return httpkit.principal(request)


async def _body(request: web.Request, key: str) -> Any:
    data = await httpkit.read_json(request)
    if isinstance(data, dict) and isinstance(data.get(key + "s"), list):
        raise BadRequest("Bulk creation is not supported.", kind="HTTPBadRequest")
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise BadRequest(f"Resource body required: '{key}'.", kind="HTTPBadRequest")
    return data[key]


def _listing(request: web.Request, key: str, views: list[dict[str, Any]]) -> web.Response:
    query = request.query
    for name in set(query.keys()) - set(PAGING):
        wanted = {v.lower() for v in query.getall(name)}
        views = [v for v in views if _text(v.get(name)) in wanted]
    views.sort(key=lambda v: (v.get("created_at", ""), v["id"]))
    marker = query.get("marker")
    if marker is not None:
        ids = [v["id"] for v in views]
        if marker not in ids:
            raise BadRequest(f"Marker {marker[:64]} could not be found.", kind="HTTPBadRequest")
        views = views[ids.index(marker) + 1 :]
    limit = httpkit.int_param(query, "limit", None, 1, 10000)
    out: dict[str, Any] = {key: views if limit is None else views[:limit]}
    if limit is not None and len(views) > limit:
        href = f"{request.path}?limit={limit}&marker={views[limit - 1]['id']}"
        out[f"{key}_links"] = [{"rel": "next", "href": href}]
    return httpkit.json_response(out)


def _text(value: Any) -> str:
    return str(value).lower()


async def handle_list_networks(request: web.Request) -> web.Response:
    m = _mgr(request)
    views = [m.network_view(n) for n in m.list_all(_who(request), "networks")]
    return _listing(request, "networks", views)


async def handle_create_network(request: web.Request) -> web.Response:
    m = _mgr(request)
    net = await m.create_network(_who(request), await _body(request, "network"))
    return httpkit.json_response({"network": m.network_view(net)}, status=201)


async def handle_show_network(request: web.Request) -> web.Response:
    m = _mgr(request)
    net = m.get_network(_who(request), request.match_info["id"])
    return httpkit.json_response({"network": m.network_view(net)})


async def handle_update_network(request: web.Request) -> web.Response:
    m = _mgr(request)
    spec = await _body(request, "network")
    net = await m.update_network(_who(request), request.match_info["id"], spec)
    return httpkit.json_response({"network": m.network_view(net)})


async def handle_delete_network(request: web.Request) -> web.Response:
    await _mgr(request).delete_network(_who(request), request.match_info["id"])
    return web.Response(status=204)


async def handle_list_subnets(request: web.Request) -> web.Response:
    views = [s.view() for s in _mgr(request).list_all(_who(request), "subnets")]
    return _listing(request, "subnets", views)


async def handle_create_subnet(request: web.Request) -> web.Response:
    sub = await _mgr(request).create_subnet(_who(request), await _body(request, "subnet"))
    return httpkit.json_response({"subnet": sub.view()}, status=201)


async def handle_show_subnet(request: web.Request) -> web.Response:
    sub = _mgr(request).get_subnet(_who(request), request.match_info["id"])
    return httpkit.json_response({"subnet": sub.view()})


async def handle_update_subnet(request: web.Request) -> web.Response:
    spec = await _body(request, "subnet")
    sub = await _mgr(request).update_subnet(_who(request), request.match_info["id"], spec)
    return httpkit.json_response({"subnet": sub.view()})


async def handle_delete_subnet(request: web.Request) -> web.Response:
    await _mgr(request).delete_subnet(_who(request), request.match_info["id"])
    return web.Response(status=204)


async def handle_list_ports(request: web.Request) -> web.Response:
    views = [p.view() for p in _mgr(request).list_all(_who(request), "ports")]
    return _listing(request, "ports", views)


async def handle_create_port(request: web.Request) -> web.Response:
    port = await _mgr(request).create_port(_who(request), await _body(request, "port"))
    return httpkit.json_response({"port": port.view()}, status=201)


async def handle_show_port(request: web.Request) -> web.Response:
    port = _mgr(request).get_port(_who(request), request.match_info["id"])
    return httpkit.json_response({"port": port.view()})


async def handle_update_port(request: web.Request) -> web.Response:
    spec = await _body(request, "port")
    port = await _mgr(request).update_port(_who(request), request.match_info["id"], spec)
    return httpkit.json_response({"port": port.view()})


async def handle_delete_port(request: web.Request) -> web.Response:
    await _mgr(request).delete_port(_who(request), request.match_info["id"])
    return web.Response(status=204)


def make_app(manager: NetworkManager, identity: Any) -> web.Application:
    """The Neutron-shaped sub-application (mount it at ``/v2.0``)."""
    app = web.Application(
        client_max_size=httpkit.MAX_JSON,
        middlewares=[
            httpkit.error_middleware(render_error),
            httpkit.auth_middleware(lambda path: True),
        ],
    )
    app[NETWORKS] = manager
    app[httpkit.IDENTITY] = identity
    r = app.router
    for plural, handlers in (
        ("networks", (handle_list_networks, handle_create_network, handle_show_network,
                      handle_update_network, handle_delete_network)),
        ("subnets", (handle_list_subnets, handle_create_subnet, handle_show_subnet,
                     handle_update_subnet, handle_delete_subnet)),
        ("ports", (handle_list_ports, handle_create_port, handle_show_port,
                   handle_update_port, handle_delete_port)),
    ):  # fmt: skip
        lst, create, show, update, delete = handlers
        r.add_get(f"/{plural}", lst)
        r.add_post(f"/{plural}", create)
        r.add_get(f"/{plural}/{{id}}", show)
        r.add_put(f"/{plural}/{{id}}", update)
        r.add_delete(f"/{plural}/{{id}}", delete)
    return app
