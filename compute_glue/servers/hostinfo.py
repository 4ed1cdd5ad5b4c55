"""What Nova says about the cloud rather than one server: limits, availability zones, key pairs.

This compute keeps no quotas, so every ``max*`` limit is Nova's "unlimited"
(-1) and the ``total*Used`` figures are the project's real usage. There is
one availability zone, ``nova``. Key pairs are not kept: the ``os-keypairs``
calls answer 501 naming the alternative (a public key in the user data), so
``openstack keypair create`` fails clearly instead of pretending.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from compute_glue import httpkit
from compute_glue.errors import Forbidden, NotImplementedOp
from compute_glue.servers import microversion
from compute_glue.servers.model import AVAILABILITY_ZONE, Server

UNLIMITED = -1
# ``project_servers(request, project)``: the servers of a project, as the caller may see them.
ProjectServers = Callable[[web.Request, str], list[Server]]


def absolute_limits(servers: list[Server], version: tuple[int, int]) -> dict[str, int]:
    """Nova's ``limits.absolute`` for a project owning ``servers``, shaped for ``version``."""
    out = {
        "maxTotalInstances": UNLIMITED,
        "maxTotalCores": UNLIMITED,
        "maxTotalRAMSize": UNLIMITED,
        "maxServerMeta": 128,
        "maxImageMeta": 128,
        "maxTotalKeypairs": 0,
        "maxServerGroups": 0,
        "maxServerGroupMembers": 0,
        "totalInstancesUsed": len(servers),
        "totalCoresUsed": sum(int(s.flavor["vcpus"]) for s in servers),
        "totalRAMUsed": sum(int(s.flavor["ram"]) for s in servers),
        "totalServerGroupsUsed": 0,
    }
    if version < (2, 57):  # 2.57 dropped personality files
        out.update(maxPersonality=0, maxPersonalitySize=0)
    if version < (2, 36):  # 2.36 dropped the network proxies' limits
        out.update(
            maxSecurityGroups=0,
            maxSecurityGroupRules=0,
            maxTotalFloatingIps=0,
            totalSecurityGroupsUsed=0,
            totalFloatingIpsUsed=0,
        )
    return out


def make_handlers(project_servers: ProjectServers) -> dict[str, Any]:
    """The handlers; ``project_servers(request)`` lists the caller's project's servers."""

    async def handle_limits(request: web.Request) -> web.Response:
        who = httpkit.principal(request)
        wanted = request.query.get("tenant_id")
        if wanted is not None and wanted != who.project and not who.is_reseller_admin:
            raise Forbidden(
                "Policy doesn't allow os_compute_api:limits:other_project to be performed.",
                kind="forbidden",
            )
        servers = project_servers(request, wanted or who.project)
        version = request.get(microversion.VERSION, microversion.MIN)
        limits = {"rate": [], "absolute": absolute_limits(servers, version)}
        return web.json_response({"limits": limits})

    async def handle_zones(request: web.Request) -> web.Response:
        zone: dict[str, Any] = {"zoneName": AVAILABILITY_ZONE, "zoneState": {"available": True},
                                "hosts": None}  # fmt: skip
        if request.path.endswith("/detail"):
            who = httpkit.principal(request)
            if not who.is_reseller_admin:
                raise Forbidden(
                    "Policy doesn't allow os_compute_api:os-availability-zone:detail.",
                    kind="forbidden",
                )
        return web.json_response({"availabilityZoneInfo": [zone]})

    async def handle_keypairs(request: web.Request) -> web.Response:
        httpkit.principal(request)
        raise NotImplementedOp(
            "Key pairs are not supported by this compute: "
            "put the public key in the server's user data instead.",
            kind="notImplemented",
        )

    return {"limits": handle_limits, "zones": handle_zones, "keypairs": handle_keypairs}


def add_routes(app: web.Application, project_servers: ProjectServers) -> None:
    h = make_handlers(project_servers)
    r = app.router
    r.add_get("/limits", h["limits"])
    r.add_get("/os-availability-zone", h["zones"])
    r.add_get("/os-availability-zone/detail", h["zones"])
    r.add_route("*", "/os-keypairs", h["keypairs"])
    r.add_route("*", "/os-keypairs/{name}", h["keypairs"])
