"""Cluster health (cloud admins only): nodes, devices, replication, and the last hour's charts.

The same facts as ``stratus status``, read the same way: each storage
node's ``/healthcheck`` and ``/stats`` over HTTP (the console imports no
objectstore code). Fill levels come from ``statvfs`` of the device
directories of the nodes this machine runs (sizes only; no file is opened).
Charts are drawn server-side as inline SVG from the console's own sampling
of the nodes' ``/metrics`` (:mod:`..clustermetrics`). Ring versions are the
ones each node reports serving with in its ``/stats``, so a host left on an
old ring shows as such. The iSCSI sessions per volume come from the volume
API's ``os-iscsi-sessions`` (a Stratus extension for cloud admins), called with
the admin's own token.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from stratus.console.auth import Forbidden, page, viewer
from stratus.console.charts import line_chart
from stratus.console.cloudapi import CONFIG, volume_api
from stratus.console.clustermetrics import SAMPLER, Sampler
from stratus.console.services import SERVICES, ServiceError
from stratus.console.templating import NavEntry, add_nav, render

REPLICATORS = ("object-replicator", "container-replicator", "account-replicator")
NODE_TIMEOUT = aiohttp.ClientTimeout(total=3)
SESSION_FIELDS = ("initiator", "peer", "portal", "session_id", "connected_at")


def worst_lag(lags: list[float | None]) -> float | None:
    """The largest lag; None when there is none, or one has not finished a pass yet."""
    known = [lag for lag in lags if lag is not None]
    return max(known) if lags and len(known) == len(lags) else None


def summary(stats: dict[str, Any]) -> dict[str, Any]:
    """One node's /stats as `stratus status` sums it up."""
    workers = stats.get("workers", {}) or {}
    lags = [w.get("lag") for n, w in workers.items() if n in REPLICATORS and isinstance(w, dict)]
    devices = stats.get("devices", {}) or {}
    return {
        "up": True,
        "devices": devices,
        "failed_devices": {n: d["unavailable"] for n, d in devices.items() if "unavailable" in d},
        "replication_lag": worst_lag(lags),
        "quarantined": stats.get("quarantined", 0),
        "async_pending": stats.get("async_pending", 0),
        "async_dropped": stats.get("async_dropped", 0),
        "rings": stats.get("rings", {}) or {},  # the versions the node serves with
    }


async def node_health(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    try:
        async with http.get(f"{url}/healthcheck", timeout=NODE_TIMEOUT) as resp:
            if resp.status != 200:
                return {"up": False, "error": f"healthcheck answered {resp.status}"}
        async with http.get(f"{url}/stats", timeout=NODE_TIMEOUT) as resp:
            if resp.status != 200:
                return {"up": False, "error": f"stats answered {resp.status}"}
            return summary(await resp.json())
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        return {"up": False, "error": type(exc).__name__}


def fill_levels(data_dir: Path, index: int, devices: list[str]) -> dict[str, dict[str, float]]:
    """Used and total bytes of the filesystem under each local device directory."""
    out = {}
    for dev in devices:
        path = data_dir / "nodes" / f"node{index}" / dev
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        total = st.f_blocks * st.f_frsize
        used = total - st.f_bavail * st.f_frsize
        out[dev] = {"used": used, "total": total, "pct": 100.0 * used / total if total else 0.0}
    return out


def group_sessions(answer: Any) -> list[dict[str, Any]]:
    """``os-iscsi-sessions``'s answer per volume: its session count and initiators."""
    found = answer.get("sessions") if isinstance(answer, dict) else None
    groups: dict[str, dict[str, Any]] = {}
    for s in found if isinstance(found, list) else []:
        if not isinstance(s, dict) or not isinstance(s.get("volume_id"), str):
            continue
        g = groups.setdefault(s["volume_id"], {"volume_id": s["volume_id"], "sessions": []})
        g["sessions"].append({k: str(s.get(k) or "?") for k in SESSION_FIELDS})
    for g in groups.values():
        g["count"] = len(g["sessions"])
        g["initiators"] = sorted({s["initiator"] for s in g["sessions"]})
    return [groups[k] for k in sorted(groups)]


async def iscsi_sessions(request: web.Request) -> tuple[list[dict[str, Any]], str | None]:
    """The sessions grouped per volume, or why they cannot be shown now."""
    if not request.app[SERVICES].endpoints.volume:
        return [], "no volume service is configured"
    try:
        return group_sessions(await volume_api(request, "GET", "/os-iscsi-sessions")), None
    except ServiceError as exc:
        return [], exc.message


@page("admin")
async def cluster_page(request: web.Request) -> web.StreamResponse:
    if not viewer(request).principal.is_reseller_admin:
        raise Forbidden("only the cloud's admins (admins of project admin) see the cluster")
    urls = request.app[SERVICES].endpoints.nodes
    http = request.app[SERVICES].http
    health = await asyncio.gather(*(node_health(http, u) for u in urls))
    cfg = request.app.get(CONFIG)
    nodes = []
    for i, (url, h) in enumerate(zip(urls, health, strict=True)):
        devs = sorted(h.get("devices", {})) if h["up"] else []
        fill = await asyncio.to_thread(fill_levels, cfg.data_dir, i, devs) if cfg else {}
        nodes.append({"url": url.split("://", 1)[-1], "health": h, "fill": fill, "devs": devs})
    up = [n["health"] for n in nodes if n["health"]["up"]]
    lags = [h["replication_lag"] for h in up]
    totals = {
        "nodes_up": len(up),
        "nodes_total": len(nodes),
        "failed_devices": sum(len(h["failed_devices"]) for h in up),
        "replication_lag": worst_lag(lags),
        "quarantined": sum(h["quarantined"] for h in up),
        "async_pending": sum(h["async_pending"] for h in up),
        "async_dropped": sum(h["async_dropped"] for h in up),
    }
    series = request.app[SAMPLER].series()
    charts = [
        line_chart("Requests", "req/s", series["rate"]),
        line_chart("Mean latency", "ms", series["latency"]),
        line_chart("Bytes moved by replication and auditing", "B/s", series["bytes"]),
    ]
    volumes, sessions_error = await iscsi_sessions(request)
    return render(
        request,
        "cluster/health.html",
        nodes=nodes,
        totals=totals,
        charts=charts,
        volumes=volumes,
        sessions_error=sessions_error,
    )


def setup(app: web.Application) -> None:
    app[SAMPLER] = Sampler(app[SERVICES].endpoints.nodes)

    async def start(app: web.Application) -> None:
        app[SAMPLER].start()

    async def stop(app: web.Application) -> None:
        await app[SAMPLER].stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/cluster", cluster_page)
    add_nav(app, NavEntry("Cluster", "/cluster", role="admin"))
