"""Quota sets (os-quota-sets) and absolute limits (/limits), in Cinder's shapes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from blockstore.api.context import ctx, flag, ok

ABSOLUTE = {
    "volumes": ("maxTotalVolumes", "totalVolumesUsed"),
    "gigabytes": ("maxTotalVolumeGigabytes", "totalGigabytesUsed"),
    "snapshots": ("maxTotalSnapshots", "totalSnapshotsUsed"),
    "backups": ("maxTotalBackups", "totalBackupsUsed"),
    "backup_gigabytes": ("maxTotalBackupGigabytes", "totalBackupGigabytesUsed"),
}


async def handle_limits(request: web.Request) -> web.Response:
    c = ctx(request)
    limits = c.quotas.quota_limits(c.caller, c.project)
    used = c.quotas.quota_usage(c.caller, c.project)
    absolute: dict[str, int] = {}
    for key, (max_name, used_name) in ABSOLUTE.items():
        absolute[max_name] = limits[key]
        absolute[used_name] = used[key]
    return ok({"limits": {"rate": [], "absolute": absolute}})


async def handle_show_quotas(request: web.Request) -> web.Response:
    c = ctx(request)
    target = c.param("target")
    limits = c.quotas.quota_limits(c.caller, target)
    quota: dict[str, Any] = {"id": target}
    if flag(c.query.get("usage")):
        used = c.quotas.quota_usage(c.caller, target)
        for key, limit in limits.items():
            quota[key] = {"limit": limit, "in_use": used[key], "reserved": 0, "allocated": 0}
    else:
        quota.update(limits)
    return ok({"quota_set": quota})


async def handle_quota_defaults(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"quota_set": {"id": c.param("target"), **c.quotas.quota_defaults()}})


async def handle_update_quotas(request: web.Request) -> web.Response:
    c = ctx(request)
    values = await c.body("quota_set")
    limits = await c.quotas.set_quotas(c.caller, c.param("target"), values)
    return ok({"quota_set": limits})


async def handle_reset_quotas(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.quotas.reset_quotas(c.caller, c.param("target"))
    return ok(status=200)


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_get(f"{prefix}/limits", handle_limits)
    q = f"{prefix}/os-quota-sets/{{target}}"
    router.add_get(q, handle_show_quotas)
    router.add_get(f"{q}/defaults", handle_quota_defaults)
    router.add_put(q, handle_update_quotas)
    router.add_delete(q, handle_reset_quotas)
