"""The identity service as one process: the Keystone v3 API on ``identity.host:identity.port``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from stratus.authlimit import AuthLimits, FailureLimiter
from stratus.config import Config
from stratus.http import server as httpserver
from stratus.identity import IdentityStore, identity_dir
from stratus.identity.keystone.app import make_app
from stratus.identity.keystone.catalog import Catalog

log = logging.getLogger("stratus.identity.keystone")


@contextlib.asynccontextmanager
async def running(cfg: Config) -> AsyncIterator[int]:
    """Serve until the block ends; yields the bound port."""
    ident = cfg.identity
    sock = httpserver.listen(ident.host, ident.port)
    store = IdentityStore(identity_dir(cfg.data.dir))
    try:
        app = make_app(
            store,
            Catalog.from_config(cfg),
            token_lifetime=ident.token_lifetime,
            public_url=ident.public_url,
            limiter=FailureLimiter(AuthLimits.from_config(cfg)),
        )
        async with httpserver.serving(app, sock, httpserver.ServerLimits.from_config(cfg)) as port:
            log.info("identity (Keystone v3) API on %s:%d", ident.host, port)
            yield port
    finally:
        store.close()
        sock.close()


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    """Run the identity service until ``stop`` is set."""
    async with running(cfg):
        await stop.wait()
