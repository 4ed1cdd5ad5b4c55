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
from compute_glue.errors import BadRequest, NotFound
from compute_glue.networks import bodies, quotas, secgroups
from compute_glue.networks.manager import NetworkManager
from stratus.http import requestid
from stratus.identity import IdentityStore, Principal

NETWORKS: web.AppKey[NetworkManager] = web.AppKey("networks", NetworkManager)
PAGING = ("limit", "marker", "fields", "sort_key", "sort_dir", "page_reverse")


def render_error(status: int, kind: str, message: str) -> web.Response:
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    return web.json_response(body, status=status)


def _mgr(request: web.Request) -> NetworkManager:
    return request.app[NETWORKS]


def _who(request: web.Request) -> Principal:
    return httpkit.principal(request)


async def _body(request: web.Request, key: str) -> Any:
    """The resource element of a single-resource body (still JSON: :mod:`.bodies` parses it)."""
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
    m, who = _mgr(request), _who(request)
    req = bodies.network_create(await _body(request, "network"), who)
    net = await m.create_network(who, req)
    return httpkit.json_response({"network": m.network_view(net)}, status=201)


async def handle_show_network(request: web.Request) -> web.Response:
    m = _mgr(request)
    net = m.get_network(_who(request), request.match_info["id"])
    return httpkit.json_response({"network": m.network_view(net)})


async def handle_update_network(request: web.Request) -> web.Response:
    m, who, ident = _mgr(request), _who(request), request.match_info["id"]
    spec = bodies.shape(await _body(request, "network"), bodies.NETWORK_UPDATE, "network", who)
    m.get_network(who, ident)  # not found before a bad value
    net = await m.update_network(who, ident, bodies.network_update(spec))
    return httpkit.json_response({"network": m.network_view(net)})


async def handle_delete_network(request: web.Request) -> web.Response:
    await _mgr(request).delete_network(_who(request), request.match_info["id"])
    return web.Response(status=204)


async def handle_list_subnets(request: web.Request) -> web.Response:
    views = [s.view() for s in _mgr(request).list_all(_who(request), "subnets")]
    return _listing(request, "subnets", views)


async def handle_create_subnet(request: web.Request) -> web.Response:
    who = _who(request)
    req = bodies.subnet_create(await _body(request, "subnet"), who)
    sub = await _mgr(request).create_subnet(who, req)
    return httpkit.json_response({"subnet": sub.view()}, status=201)


async def handle_show_subnet(request: web.Request) -> web.Response:
    sub = _mgr(request).get_subnet(_who(request), request.match_info["id"])
    return httpkit.json_response({"subnet": sub.view()})


async def handle_update_subnet(request: web.Request) -> web.Response:
    m, who, ident = _mgr(request), _who(request), request.match_info["id"]
    spec = bodies.shape(await _body(request, "subnet"), bodies.SUBNET_UPDATE, "subnet", who)
    m.get_subnet(who, ident)  # not found before a bad value
    sub = await m.update_subnet(who, ident, bodies.subnet_update(spec))
    return httpkit.json_response({"subnet": sub.view()})


async def handle_delete_subnet(request: web.Request) -> web.Response:
    await _mgr(request).delete_subnet(_who(request), request.match_info["id"])
    return web.Response(status=204)


async def handle_list_ports(request: web.Request) -> web.Response:
    views = [p.view() for p in _mgr(request).list_all(_who(request), "ports")]
    return _listing(request, "ports", views)


async def handle_create_port(request: web.Request) -> web.Response:
    who = _who(request)
    req = bodies.port_create(await _body(request, "port"), who)
    port = await _mgr(request).create_port(who, req)
    return httpkit.json_response({"port": port.view()}, status=201)


async def handle_show_port(request: web.Request) -> web.Response:
    port = _mgr(request).get_port(_who(request), request.match_info["id"])
    return httpkit.json_response({"port": port.view()})


async def handle_update_port(request: web.Request) -> web.Response:
    m, who, ident = _mgr(request), _who(request), request.match_info["id"]
    spec = bodies.shape(await _body(request, "port"), bodies.PORT_UPDATE, "port", who)
    m.get_port(who, ident)  # not found before a bad value
    port = await m.update_port(who, ident, bodies.port_update(spec))
    return httpkit.json_response({"port": port.view()})


async def handle_delete_port(request: web.Request) -> web.Response:
    await _mgr(request).delete_port(_who(request), request.match_info["id"])
    return web.Response(status=204)


# What this API implements, by Neutron's extension aliases (clients test for some of them).
EXTENSIONS = (
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("external-net", "Neutron external network", "Adds external network attribute to network"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("port-security", "Port Security", "Provides port security"),
    ("project-id", "project_id field enabled", "project_id is enabled."),
    ("security-group", "security-group", "The security groups extension."),
    ("standard-attr-description", "standard-attr-description", "Descriptions of resources"),
    ("standard-attr-timestamp", "Resource timestamps", "created_at and updated_at"),
)  # fmt: skip


def _extension(alias: str, name: str, description: str) -> dict[str, Any]:
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": "2013-01-01T10:00:00-00:00",
        "links": [],
    }


async def handle_index(request: web.Request) -> web.Response:
    """``GET /v2.0/``: the collections, as Neutron lists them."""
    _who(request)
    base = f"{request.scheme}://{request.host}/v2.0"
    resources = [
        {"name": name, "collection": plural, "links": [{"rel": "self", "href": f"{base}/{plural}"}]}
        for name, plural in (("network", "networks"), ("subnet", "subnets"), ("port", "ports"))
    ]
    return httpkit.json_response({"resources": resources})


async def handle_list_extensions(request: web.Request) -> web.Response:
    _who(request)
    return httpkit.json_response({"extensions": [_extension(*e) for e in EXTENSIONS]})


async def handle_show_extension(request: web.Request) -> web.Response:
    _who(request)
    alias = request.match_info["alias"]
    for ext in EXTENSIONS:
        if ext[0] == alias:
            return httpkit.json_response({"extension": _extension(*ext)})
    raise NotFound(f"Extension with alias {alias[:64]} does not exist", kind="HTTPNotFound")


def _groups(request: web.Request) -> list[dict[str, Any]]:
    who = _who(request)
    projects = {who.project}
    if who.is_reseller_admin:
        projects |= {n.project for n in _mgr(request).list_all(who, "networks")}
    return [secgroups.default_group(p) for p in sorted(projects)]


async def handle_list_groups(request: web.Request) -> web.Response:
    return _listing(request, "security_groups", _groups(request))


async def handle_show_group(request: web.Request) -> web.Response:
    ident = request.match_info["id"]
    for group in _groups(request):
        if group["id"] == ident:
            return httpkit.json_response({"security_group": group})
    raise NotFound(f"Security group {ident[:64]} does not exist", kind="SecurityGroupNotFound")


async def handle_list_rules(request: web.Request) -> web.Response:
    rules = [r for g in _groups(request) for r in g["security_group_rules"]]
    return _listing(request, "security_group_rules", rules)


async def handle_show_rule(request: web.Request) -> web.Response:
    ident = request.match_info["id"]
    for group in _groups(request):
        for rule in group["security_group_rules"]:
            if rule["id"] == ident:
                return httpkit.json_response({"security_group_rule": rule})
    raise NotFound(
        f"Security group rule {ident[:64]} does not exist", kind="SecurityGroupRuleNotFound"
    )


def make_app(manager: NetworkManager, identity: IdentityStore) -> web.Application:
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
    app.on_response_prepare.append(requestid.stamp)
    r = app.router
    r.add_get("/", handle_index)
    r.add_get("/extensions", handle_list_extensions)
    r.add_get("/extensions/{alias}", handle_show_extension)
    r.add_get("/security-groups", handle_list_groups)
    r.add_get("/security-groups/{id}", handle_show_group)
    r.add_get("/security-group-rules", handle_list_rules)
    r.add_get("/security-group-rules/{id}", handle_show_rule)
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
    quotas.add_routes(app, manager)
    return app
