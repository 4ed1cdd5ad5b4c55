"""Availability zones (os-availability-zone) and services (os-services), in Cinder's shapes.

Stratus has one zone, ``nova`` (Cinder's default name, which the compute side uses too),
and the volume manager is at once Cinder's scheduler, volume and backup service: it lists
them as three services of one host, up while this process answers.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from blockstore.api import views
from blockstore.api.context import ctx, ok
from blockstore.api.requests import AZ
from blockstore.manager.context import Context
from blockstore.manager.core import must_be_cloud_admin

HOST = "stratus"
BINARIES = (("cinder-scheduler", HOST), ("cinder-backup", HOST))


async def handle_availability_zones(request: web.Request) -> web.Response:
    ctx(request)
    return ok({"availabilityZoneInfo": [{"zoneName": AZ, "zoneState": {"available": True}}]})


def service_view(binary: str, host: str, now: float, up: bool = True) -> dict[str, Any]:
    return {
        "binary": binary,
        "host": host,
        "zone": AZ,
        "status": "enabled",
        "state": "up" if up else "down",
        "updated_at": views.iso(now),
        "disabled_reason": None,
        "cluster": None,
        "replication_status": "disabled",
        "active_backend_id": None,
        "frozen": False,
        "backend_state": ("up" if up else "down") if binary == "cinder-volume" else None,
    }


async def handle_services(request: web.Request) -> web.Response:
    """Cloud admins only, as in Cinder's default policy; ``host``/``binary`` filter."""
    c = ctx(request)
    must_be_cloud_admin(c.caller)
    now = time.time()
    host, binary = c.query.get("host"), c.query.get("binary")
    shown = [
        service_view(b, h, now, up)
        for b, h, up in _services(c.manager.ctx)
        if (host is None or host == h) and (binary is None or binary == b)
    ]
    return ok({"services": shown})


def _services(vctx: Context) -> list[tuple[str, str, bool]]:
    """One cinder-volume per backend (``host@backend``, down when it stops answering)."""
    if vctx.pool is None:
        volume = [("cinder-volume", vctx.host.split("#")[0] or f"{HOST}@file", True)]
    else:
        volume = [("cinder-volume", b.host.split("#")[0], b.up) for b in vctx.pool.backends()]
    (scheduler, backup) = ((b, h, True) for b, h in BINARIES)
    return [scheduler, *volume, backup]


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_get(f"{prefix}/os-availability-zone", handle_availability_zones)
    router.add_get(f"{prefix}/os-services", handle_services)
