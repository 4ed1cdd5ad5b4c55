"""The proxy as a running service: rings + node client + proxy core + the Swift HTTP app.

`stratus proxy` (and the proxy child of `stratus up`) runs :func:`serve_proxy`
on uvloop. Wiring lives here, in the top floor, because it is the one place
allowed to see the ring, the object store and identity at once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

from aiohttp import web

from stratus import config
from stratus.cli import cluster

log = logging.getLogger("stratus.proxy")


def load_rings(cfg: config.Config, directory: Path) -> dict[str, object]:
    """The account, container and object rings, salted with the cluster's hash prefix/suffix."""
    from ring import Ring

    missing = [n for n in cluster.RING_NAMES if not (directory / f"{n}.ring").exists()]
    if missing:
        raise config.ConfigError(
            f"no {', '.join(missing)} ring in {directory}: build the rings first "
            "(`stratus up` does; for a multi-node cluster see `stratus ring --help`)"
        )
    return {
        name: Ring(
            directory / f"{name}.ring",
            hash_path_prefix=cfg.cluster.hash_path_prefix,
            hash_path_suffix=cfg.cluster.hash_path_suffix,
        )
        for name in cluster.RING_NAMES
    }


async def build_app(cfg: config.Config) -> web.Application:
    """The proxy's aiohttp application, with its node session closed on cleanup."""
    from objectstore.proxy.core import ProxyCore
    from objectstore.proxy.swift.app import make_app

    from objectstore.client import NodeClient
    from stratus.identity import IdentityStore

    rings = load_rings(cfg, cluster.ring_dir(cfg))
    session = NodeClient.make_session()
    client = NodeClient(session, node_timeout=cfg.proxy.node_timeout)
    identity = IdentityStore(cluster.identity_dir(cfg))
    core = ProxyCore(cfg, rings, client)
    app = make_app(core, identity, cfg)

    async def close(_app: web.Application) -> None:
        await session.close()
        identity.close()

    app.on_cleanup.append(close)
    return app


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound listening socket (SO_REUSEADDR) made before the app, so bind errors come first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def serve_proxy(cfg: config.Config, stop: asyncio.Event) -> None:
    """Serve the native Swift API and /auth/v1.0 until ``stop`` is set."""
    cluster.ensure_cluster_secrets(cfg, create=False)
    sock = listen_socket(cfg.proxy.host, cfg.proxy.port)
    app = await build_app(cfg)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        log.info("proxy listening on %s:%d", cfg.proxy.host, cfg.proxy.port)
        await stop.wait()
    finally:
        await runner.cleanup()
