"""The compute service as one process: the server API (``/v2.1``) and the network API (``/v2.0``).

``running(cfg)`` binds ``compute.host:compute.port`` first, opens the
records under ``compute.dir`` (default ``<data>/compute``), makes the host's
bridges and taps match the network records, adopts the QEMU processes a
previous run left running, and serves until the block ends. QEMU processes
are not stopped when the service stops: the next start adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from compute_glue import httpkit
from compute_glue.errors import NotFound
from compute_glue.metrics import by_status
from compute_glue.networks import api as network_api
from compute_glue.networks import endpoint as network_endpoint
from compute_glue.networks import metadata
from compute_glue.networks.dhcp import Dhcp, dhcp_dir
from compute_glue.networks.manager import NetSettings, NetworkManager
from compute_glue.networks.netlink import HostNet
from compute_glue.objects import Tokens
from compute_glue.servers import api as server_api
from compute_glue.servers.manager import ComputeSettings, ServerManager
from compute_glue.servers.model import STATUSES as SERVER_STATUSES
from compute_glue.servers.store import TABLE as SERVER_TABLE
from stratus.config import Config
from stratus.http import requestid
from stratus.http.server import ServerLimits, base_url, listen, serving
from stratus.identity import IdentityStore, identity_dir
from stratus.metrics import ServiceMetrics

log = logging.getLogger("compute_glue.service")


def compute_dir(cfg: Config) -> Path:
    return Path(cfg.compute.dir) if cfg.compute.dir else Path(cfg.data.dir) / "compute"


def settings_from(cfg: Config) -> ComputeSettings:
    c = cfg.compute
    return ComputeSettings(
        image_url=c.image_url or base_url(cfg.image.host, cfg.image.port),
        volume_url=c.volume_url or base_url(cfg.volume.host, cfg.volume.port),
        qemu=c.qemu,
        accel=c.accel,
        machine=c.machine,
        shutdown_timeout=c.shutdown_timeout,
        detach_timeout=c.detach_timeout,
        qmp_timeout=c.qmp_timeout,
        initiator_prefix=c.initiator_prefix,
        image_container=cfg.image.container,
        max_virtual_size=cfg.image.max_virtual_size_gb * 1024**3,
    )


async def handle_root(request: web.Request) -> web.Response:
    """Nova's root document (200, as Nova answers), plus the network API's v2.0 served here."""
    base = f"{request.scheme}://{request.host}"
    versions = [
        server_api.version_doc(request),
        {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
         "links": [{"rel": "self", "href": f"{base}/v2.0/"}]},
    ]  # fmt: skip
    return web.json_response({"versions": versions})


async def handle_healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


def _crash(request: web.Request) -> web.StreamResponse:
    return server_api.render_error(
        500, "InternalError", "The server has either erred or is incapable."
    )


def make_app(
    servers: ServerManager, networks: NetworkManager, identity: IdentityStore
) -> web.Application:
    # Request ids (and no traceback) on the root's own answers too; its 404s stay aiohttp's.
    root_errors = httpkit.error_middleware(
        server_api.render_error, requestid.COMPUTE, http_errors=False
    )
    app = web.Application(middlewares=[root_errors])
    app.on_response_prepare.append(requestid.stamp)
    app.router.add_get("/", handle_root)
    app.router.add_get("/healthcheck", handle_healthcheck)
    metrics = ServiceMetrics().install(app, "compute")
    statuses = by_status(lambda: servers.store.records, SERVER_TABLE, SERVER_STATUSES)
    metrics.gauge("stratus_servers", "Servers by status.", ["status"], statuses)
    app.router.add_get("/v2.1", server_api.handle_versions)  # the subapp sees only "/v2.1/..."
    app.add_subapp("/v2.1", server_api.make_app(servers, identity))
    app.add_subapp("/v2.0", network_api.make_app(networks, identity))
    return app


@dataclass
class ComputeService:
    servers: ServerManager
    networks: NetworkManager
    port: int


@contextlib.asynccontextmanager
async def running(cfg: Config) -> AsyncIterator[ComputeService]:
    """The compute service, serving; records closed (and QEMU left running) on exit."""
    sock = listen(cfg.compute.host, cfg.compute.port)
    net_sock = listen(cfg.network.host, cfg.network.port)
    # Guests reach it through the gateway addresses (redirected from 169.254.169.254:80).
    meta_sock = listen("0.0.0.0", cfg.network.metadata_port)
    identity = IdentityStore(identity_dir(cfg.data.dir))
    root = compute_dir(cfg)
    networks = servers = None
    try:
        prefix = cfg.network.ifname_prefix
        settings = NetSettings(prefix, cfg.network.nat, meta_sock.getsockname()[1])
        dhcp = Dhcp(dhcp_dir(prefix), cfg.network.dnsmasq)
        networks = NetworkManager(root / "networks", HostNet(), settings, dhcp=dhcp)
        await networks.start()
        servers = ServerManager(root, networks, Tokens(identity), settings_from(cfg))
        await servers.start()
        app = make_app(servers, networks, identity)
        limits = ServerLimits.from_config(cfg)
        net_app = network_endpoint.make_app(networks, identity)
        meta_app = metadata.make_app(networks, _instances(servers))
        async with (
            serving(app, sock, limits) as port,
            serving(net_app, net_sock, limits) as net_port,
            serving(meta_app, meta_sock, limits),
        ):
            log.info("compute API on %s:%d", cfg.compute.host, port)
            log.info("network API on %s:%d", cfg.network.host, net_port)
            yield ComputeService(servers, networks, port)
    finally:
        if servers is not None:
            await servers.close()
        if networks is not None:
            networks.close()
        identity.close()
        sock.close()
        net_sock.close()
        meta_sock.close()


def _instances(servers: ServerManager) -> metadata.Lookup:
    """The metadata service's view of a server, by id."""

    def lookup(server_id: str) -> metadata.Instance | None:
        try:
            s = servers.load(server_id)
        except NotFound:
            return None
        return metadata.Instance(
            id=s.id,
            name=s.name,
            project=s.project,
            flavor=s.flavor.get("name", ""),
            image_id=s.image_id or "",
            user_data=s.user_data,
            metadata=dict(s.metadata),
        )

    return lookup


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    """Run the compute service until ``stop`` is set."""
    async with running(cfg):
        await stop.wait()
