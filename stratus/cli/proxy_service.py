"""The proxy as a running service: the Swift HTTP app on a socket, until told to stop.

`stratus proxy` (and the proxy child of `stratus up`) runs :func:`serve_proxy`
on uvloop. Wiring lives here, in the top floor, because it is the one place
allowed to see the ring, the object store and identity at once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

from aiohttp import web

from objectstore import timestamp
from objectstore.proxy.swift.app import make_app_from_config
from stratus import config
from stratus.cli import cluster
from stratus.http import server as httpserver

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


async def serve_proxy(cfg: config.Config, stop: asyncio.Event) -> None:
    """Serve the native Swift API, /auth/v1.0 and the S3 API until ``stop`` is set."""
    cluster.ensure_cluster_secrets(cfg, create=False)
    if cfg.proxy.test_clock_offset:  # validated: only with STRATUS_TEST_HOOKS=1
        log.warning("proxy clock runs %+.3f s off (proxy.test_clock_offset)",
                    cfg.proxy.test_clock_offset)  # fmt: skip
        timestamp.set_test_clock_offset(cfg.proxy.test_clock_offset)
    # Both sockets are bound before the app is built, so bind errors come first.
    s3_sock = httpserver.listen(cfg.s3.host, cfg.s3.port)
    sock = httpserver.listen(cfg.proxy.host, cfg.proxy.port)
    app = build_app(cfg)
    limits = httpserver.ServerLimits.from_config(cfg)
    # The Swift app first: its lifecycle opens the node session the S3 app's core uses too.
    # The S3 dialect shares the Swift app's core and identity (one process, one loop).
    async with (
        httpserver.serving(app, sock, limits, shutdown_timeout=60),
        httpserver.serving(
            s3_app_for(app, cfg), s3_sock, limits, ssl_context=s3_tls(cfg.s3), shutdown_timeout=60
        ),
    ):
        log.info("proxy listening on %s:%d", cfg.proxy.host, cfg.proxy.port)
        log.info("S3 API listening on %s://%s:%d", cfg.s3.scheme, cfg.s3.host, cfg.s3.port)
        await stop.wait()


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
    from stratus.metrics import METRICS

    return make_s3_app(
        swift_app[CORE],
        swift_app[IDENTITY],
        cfg,
        limiter=swift_app[AUTH_LIMITER],
        metrics=swift_app[METRICS],  # one registry: both APIs' requests on the Swift port
    )
