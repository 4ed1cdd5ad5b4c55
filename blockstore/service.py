"""The volume service as one process: API, manager, file backend, iSCSI target, backups.

``serve(cfg, stop)`` opens the records (``<volume dir>/records``), the file
backend (``<volume dir>/files``), starts the built-in iSCSI target (or
drives LIO), reconciles and re-exports, then serves the Cinder-style API on
``volume.host:volume.port`` until ``stop`` is set. Backups reach the object
store's public API at ``volume.backup_url`` (default: the proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from blockstore import metrics as volume_metrics
from blockstore.api import make_app
from blockstore.backend import FileBackend, VolumeFiles
from blockstore.backup.objects import ObjectAccess
from blockstore.export.base import ExportDriver
from blockstore.manager import Settings, Store
from blockstore.manager.placement import host_name
from blockstore.pool.pool import BackendPool
from blockstore.services import VolumeServices
from stratus.config import Config, parse_hostport
from stratus.http import server as httpserver
from stratus.identity import IdentityStore, identity_dir
from stratus.metrics import METRICS

if TYPE_CHECKING:
    from blockstore.iscsi import TargetServer

log = logging.getLogger("blockstore.service")
GiB = 1024**3


def volume_dir(cfg: Config) -> Path:
    return Path(cfg.volume.dir) if cfg.volume.dir else Path(cfg.data.dir) / "volumes"


def backup_url(cfg: Config) -> str:
    if cfg.volume.backup_url:
        return cfg.volume.backup_url
    return httpserver.base_url(cfg.proxy.host, cfg.proxy.port)


def image_url(cfg: Config) -> str:
    """The image API volumes are made from (`openstack volume create --image`)."""
    if cfg.volume.image_url:
        return cfg.volume.image_url
    return httpserver.base_url(cfg.image.host, cfg.image.port)


def compute_url(cfg: Config) -> str:
    """The compute API told of force-detached server volumes."""
    if cfg.volume.compute_url:
        return cfg.volume.compute_url
    return httpserver.base_url(cfg.compute.host, cfg.compute.port)


@dataclass
class Service:
    """Everything one volume service process holds (for tests: ``async with running(cfg)``)."""

    manager: VolumeServices
    app: web.Application
    server: TargetServer | None  # None: LIO
    port: int


async def _driver(cfg: Config) -> tuple[ExportDriver, TargetServer | None]:
    if cfg.iscsi.driver == "lio":
        from blockstore.export.lio import LioDriver

        return LioDriver(portal_ip=cfg.iscsi.host, port=cfg.iscsi.port), None
    from blockstore.export.userspace import UserspaceDriver
    from blockstore.iscsi import TargetServer

    server = TargetServer(cfg.iscsi.host, cfg.iscsi.port, discovery_auth=cfg.iscsi.discovery_auth)
    for extra in cfg.iscsi.extra_portals:  # same portal group: multipath paths
        await server.add_portal(*parse_hostport(extra))
    await server.start()
    return UserspaceDriver(server), server


def local_host(cfg: Config) -> str:
    """The in-process backend as Cinder names a c-vol's pool: ``host@backend#pool`` (the
    host as ``os-services`` names this process)."""
    return host_name("stratus", cfg.volume.backend_name)


def backend_pool(cfg: Config) -> BackendPool:
    """The backend processes of ``volume.backends`` (``NAME=URL`` each)."""
    entries = [tuple(e.split("=", 1)) for e in cfg.volume.backends]
    return BackendPool(
        [(n, u) for n, u in entries], cfg.volume.backend_secret,
        down_after=cfg.volume.backend_down_after, scratch=volume_dir(cfg) / "scratch",
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(cfg: Config) -> AsyncIterator[Service]:
    """The whole service, started; stopped (target, API, records) on exit. With
    ``volume.backends`` the bytes and targets are the backend processes' (no target here)."""
    root = volume_dir(cfg)
    sock = httpserver.listen(cfg.volume.host, cfg.volume.port)
    identity = IdentityStore(identity_dir(cfg.data.dir))
    store = Store(root / "records")
    pool = backend_pool(cfg) if cfg.volume.backends else None
    backend: VolumeFiles = (
        pool.files
        if pool is not None
        else FileBackend(root / "files", capacity_bytes=cfg.volume.capacity_gb * GiB)
    )
    objects = ObjectAccess(backup_url(cfg), identity)
    driver: ExportDriver | None = None
    server: TargetServer | None = None
    runner = None
    manager = None
    try:
        if pool is not None:
            driver = pool.driver
            await pool.start()
        else:
            driver, server = await _driver(cfg)
        settings = Settings.from_config(cfg)
        manager = VolumeServices(
            store, backend, driver, settings, objects=objects, pool=pool,
            host=local_host(cfg) if pool is None else "", image_api=image_url(cfg),
        )  # fmt: skip
        await manager.start()
        if pool is not None:
            pool.watch(manager.reconciler.backend_down, manager.reconciler.backend_up)
        app = make_app(manager, identity, compute_url(cfg))
        volume_metrics.register(app[METRICS], store, server)
        limits = httpserver.ServerLimits.from_config(cfg)
        runner = await httpserver.start(app, sock, limits, access_log=None, shutdown_timeout=5)
        port = sock.getsockname()[1]
        log.info(
            "volume API on %s:%d, iSCSI target on %s",
            cfg.volume.host,
            port,
            ", ".join(driver.portals),
        )
        yield Service(manager, app, server, port)
    finally:
        if runner is not None:
            await runner.cleanup()
        if manager is not None:
            await manager.close()
        if driver is not None:
            await driver.close()
        if server is not None:
            await server.stop()
        await objects.close()
        store.close()
        identity.close()
        sock.close()


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    """Run the volume service until ``stop`` is set."""
    async with running(cfg):
        await stop.wait()
