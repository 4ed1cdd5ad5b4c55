"""The proxy as a running service: the Swift HTTP app on a socket, until told to stop.

`stratus proxy` (and the proxy child of `stratus up`) runs :func:`serve_proxy`
on uvloop. Wiring lives here, in the top floor, because it is the one place
allowed to see the ring, the object store and identity at once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from pathlib import Path

from aiohttp import web

from objectstore.proxy.swift.app import make_app_from_config
from stratus import config, httpserver
from stratus.cli import cluster

log = logging.getLogger("stratus.proxy")


def check_rings(directory: Path) -> None:
    """A clear error, before anything listens, when the rings are not there."""
    missing = [n for n in cluster.RING_NAMES if not (directory / f"{n}.ring").exists()]
    if missing:
        raise config.ConfigError(
            f"no {', '.join(missing)} ring in {directory}: build the rings first "
            "(`stratus up` does; for a multi-node cluster see the README)"
        )


def build_app(cfg: config.Config) -> web.Application:
    """The proxy's aiohttp application (its node session opens and closes with it)."""
    check_rings(cluster.ring_dir(cfg))
    return make_app_from_config(cfg)


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
    """Serve the native Swift API, /auth/v1.0 and the S3 API until ``stop`` is set."""
    cluster.ensure_cluster_secrets(cfg, create=False)
    s3_sock = listen_socket(cfg.s3.host, cfg.s3.port)
    sock = listen_socket(cfg.proxy.host, cfg.proxy.port)
    app = build_app(cfg)
    limits = httpserver.ServerLimits.from_config(cfg)
    runner = None
    s3_runner = None
    try:
        # Started first: its lifecycle opens the node session the S3 app's core uses too.
        runner = await httpserver.start(app, sock, limits, access_log=None)
        # The S3 dialect shares the Swift app's core and identity (one process, one loop).
        s3_app = s3_app_for(app, cfg)
        s3_runner = await httpserver.start(
            s3_app, s3_sock, limits, ssl_context=s3_tls(cfg.s3), access_log=None
        )
        log.info("proxy listening on %s:%d", cfg.proxy.host, cfg.proxy.port)
        log.info("S3 API listening on %s://%s:%d", cfg.s3.scheme, cfg.s3.host, cfg.s3.port)
        await stop.wait()
    finally:
        if s3_runner is not None:
            await s3_runner.cleanup()
        if runner is not None:
            await runner.cleanup()


def s3_tls(s3: config.S3Section) -> ssl.SSLContext | None:
    """The S3 API's server TLS context, or None for plain HTTP."""
    if not s3.tls_cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(s3.tls_cert, s3.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise config.ConfigError(f"s3.tls_cert / s3.tls_key cannot be loaded: {exc}") from exc
    return ctx


def s3_app_for(swift_app: web.Application, cfg: config.Config) -> web.Application:
    """The S3 app over the same proxy core and identity store as ``swift_app``."""
    from objectstore.proxy.swift.app import AUTH_LIMITER, CORE, IDENTITY
    from s3compat.app import make_s3_app

    return make_s3_app(swift_app[CORE], swift_app[IDENTITY], cfg, limiter=swift_app[AUTH_LIMITER])
