"""Nova's ``os-quota-sets``, read-only: this compute enforces no quotas.

Every limit is Nova's "unlimited" (-1), so ``openstack quota show`` tells the
truth; ``/detail`` adds the project's real usage where it is known
(instances, cores, RAM of its servers). Changing quotas is refused: a
non-admin gets Nova's policy 403, the cloud admin a 400 saying quotas are
not enforced (there is nothing to set), which ``openstack quota set`` prints.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from compute_glue import httpkit
from compute_glue.errors import BadRequest, Forbidden
from compute_glue.servers import microversion
from compute_glue.servers.hostinfo import ProjectServers
from compute_glue.servers.model import Server

UNLIMITED = -1
# What Nova returns at every microversion; 2.57 dropped the injected files,
# 2.36 the network proxies' quotas (fixed_ips, floating_ips, security groups).
ALWAYS = ("instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
          "server_group_members")  # fmt: skip
BEFORE_2_57 = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
BEFORE_2_36 = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")


def quota_keys(version: tuple[int, int]) -> tuple[str, ...]:
    """The quota names Nova's ``quota_set`` carries at ``version``."""
    keys: tuple[str, ...] = ALWAYS
    if version < (2, 57):
        keys += BEFORE_2_57
    if version < (2, 36):
        keys += BEFORE_2_36
    return keys


def usage(servers: list[Server]) -> dict[str, int]:
    """What the project really uses of the quotas Nova counts."""
    return {
        "instances": len(servers),
        "cores": sum(int(s.flavor["vcpus"]) for s in servers),
        "ram": sum(int(s.flavor["ram"]) for s in servers),
    }


def _project(request: web.Request, action: str) -> str:
    """The project in the path, once the caller may see it (Nova's policy)."""
    who = httpkit.principal(request)
    project = request.match_info["project_id"]
    if project != who.project and not who.is_reseller_admin:
        raise Forbidden(
            f"Policy doesn't allow os_compute_api:os-quota-sets:{action} to be performed.",
            kind="forbidden",
        )
    return project


def make_handlers(project_servers: ProjectServers) -> dict[str, Any]:
    """The handlers; ``project_servers(request, project)`` lists a project's servers."""

    async def handle_show_quota_set(request: web.Request) -> web.Response:
        project = _project(request, "show")
        keys = quota_keys(request.get(microversion.VERSION, microversion.MIN))
        quota: dict[str, Any] = {"id": project}
        if request.path.endswith("/detail"):
            used = usage(project_servers(request, project))
            for key in keys:
                quota[key] = {"in_use": used.get(key, 0), "limit": UNLIMITED, "reserved": 0}
        else:
            quota.update(dict.fromkeys(keys, UNLIMITED))
        return web.json_response({"quota_set": quota})

    async def handle_show_default_quota_set(request: web.Request) -> web.Response:
        httpkit.principal(request)
        keys = quota_keys(request.get(microversion.VERSION, microversion.MIN))
        quota = {"id": request.match_info["project_id"], **dict.fromkeys(keys, UNLIMITED)}
        return web.json_response({"quota_set": quota})

    async def handle_refuse_quota_set_change(request: web.Request) -> web.Response:
        who = httpkit.principal(request)
        action = "update" if request.method == "PUT" else "delete"
        if not who.is_reseller_admin:
            raise Forbidden(
                f"Policy doesn't allow os_compute_api:os-quota-sets:{action} to be performed.",
                kind="forbidden",
            )
        raise BadRequest(
            "Quotas are not enforced by this compute: every limit is unlimited (-1) "
            "and cannot be changed.",
            kind="badRequest",
        )

    return {
        "show": handle_show_quota_set,
        "defaults": handle_show_default_quota_set,
        "change": handle_refuse_quota_set_change,
    }


def add_routes(app: web.Application, project_servers: ProjectServers) -> None:
    h = make_handlers(project_servers)
    r = app.router
    r.add_get("/os-quota-sets/{project_id}", h["show"])
    r.add_get("/os-quota-sets/{project_id}/detail", h["show"])
    r.add_get("/os-quota-sets/{project_id}/defaults", h["defaults"])
    r.add_put("/os-quota-sets/{project_id}", h["change"])
    r.add_delete("/os-quota-sets/{project_id}", h["change"])
