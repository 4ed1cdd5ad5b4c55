"""Neutron's ``quotas``, read-only: this network service enforces no quotas.

Every limit is -1 (unlimited) so ``openstack quota show`` tells the truth;
``/details`` adds the project's real usage (networks, subnets, ports, its
default security group and rules). Neutron's optional ``.json`` suffix is
accepted. Changing quotas is refused: 403 for a non-admin (Neutron's
policy), 400 "not enforced" for the cloud admin.
"""

from __future__ import annotations

from aiohttp import web

from compute_glue import httpkit
from compute_glue.errors import BadRequest, Forbidden
from compute_glue.networks import secgroups
from compute_glue.networks.manager import NetworkManager
from stratus.identity import Principal

UNLIMITED = -1
RESOURCES = ("network", "subnet", "port", "router", "floatingip", "security_group",
             "security_group_rule")  # fmt: skip
MANAGER: web.AppKey[NetworkManager] = web.AppKey("quota_networks", NetworkManager)


def _project(request: web.Request) -> str:
    """The project in the path (``.json`` dropped), once the caller may see it."""
    who = httpkit.principal(request)
    project = request.match_info["project"].removesuffix(".json")
    if project != who.project and not who.is_reseller_admin:
        raise Forbidden(
            "Non-admin is not authorized to access quotas for another project.",
            kind="PolicyNotAuthorized",
        )
    return project


def usage(manager: NetworkManager, who: Principal, project: str) -> dict[str, int]:
    """What ``project`` really holds of each quota'd resource."""
    used = {
        name: sum(1 for r in manager.list_all(who, table) if r.project == project)
        for name, table in (("network", "networks"), ("subnet", "subnets"), ("port", "ports"))
    }
    used["security_group"] = 1  # every project has its default group
    used["security_group_rule"] = len(secgroups.default_rules(project))
    return used


async def handle_list_quotas(request: web.Request) -> web.Response:
    """No project has non-default quotas."""
    httpkit.principal(request)
    return httpkit.json_response({"quotas": []})


async def handle_show_quota(request: web.Request) -> web.Response:
    _project(request)
    return httpkit.json_response({"quota": dict.fromkeys(RESOURCES, UNLIMITED)})


async def handle_show_default_quota(request: web.Request) -> web.Response:
    """The same for every project, so anyone may read them."""
    httpkit.principal(request)
    return httpkit.json_response({"quota": dict.fromkeys(RESOURCES, UNLIMITED)})


async def handle_show_quota_details(request: web.Request) -> web.Response:
    project = _project(request)
    used = usage(request.app[MANAGER], httpkit.principal(request), project)
    quota = {
        name: {"used": used.get(name, 0), "limit": UNLIMITED, "reserved": 0} for name in RESOURCES
    }
    return httpkit.json_response({"quota": quota})


async def handle_refuse_quota_change(request: web.Request) -> web.Response:
    _project(request)
    if not httpkit.principal(request).is_reseller_admin:
        raise Forbidden("Only the cloud admin may change quotas.", kind="PolicyNotAuthorized")
    raise BadRequest(
        "Quotas are not enforced by this network service: every limit is unlimited (-1) "
        "and cannot be changed.",
        kind="HTTPBadRequest",
    )


def add_routes(app: web.Application, manager: NetworkManager) -> None:
    app[MANAGER] = manager
    r = app.router
    r.add_get("/quotas", handle_list_quotas)
    r.add_get("/quotas.json", handle_list_quotas)
    r.add_get("/quotas/{project}", handle_show_quota)
    r.add_get("/quotas/{project}/default", handle_show_default_quota)
    r.add_get("/quotas/{project}/default.json", handle_show_default_quota)
    r.add_get("/quotas/{project}/details", handle_show_quota_details)
    r.add_get("/quotas/{project}/details.json", handle_show_quota_details)
    r.add_put("/quotas/{project}", handle_refuse_quota_change)
    r.add_delete("/quotas/{project}", handle_refuse_quota_change)
