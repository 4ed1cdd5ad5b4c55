"""The image service as one process: records, object access and the Glance v2 API.

``running(cfg)`` opens the records (``<image dir>/records``), puts back to
``queued`` any upload a crash cut short, finishes deletions a crash
interrupted, and serves the API on ``image.host:image.port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from compute_glue.images import data
from compute_glue.images.api import make_app
from compute_glue.images.data import DataSettings
from compute_glue.images.store import ImageStore
from compute_glue.objects import ObjectAccess, Tokens
from stratus.config import Config
from stratus.http.server import ServerLimits, base_url, listen, serving
from stratus.identity import IdentityStore, identity_dir

log = logging.getLogger("compute_glue.images.service")
GiB = 1024**3


def image_dir(cfg: Config) -> Path:
    return Path(cfg.image.dir) if cfg.image.dir else Path(cfg.data.dir) / "images"


def object_store_url(cfg: Config) -> str:
    return cfg.image.object_store_url or base_url(cfg.proxy.host, cfg.proxy.port)


@dataclass
class ImageService:
    store: ImageStore
    access: ObjectAccess
    port: int


@contextlib.asynccontextmanager
async def running(cfg: Config) -> AsyncIterator[ImageService]:
    """The image service, serving; everything closed on exit."""
    sock = listen(cfg.image.host, cfg.image.port)
    identity = IdentityStore(identity_dir(cfg.data.dir))
    store = ImageStore(image_dir(cfg) / "records")
    access = ObjectAccess(object_store_url(cfg), Tokens(identity))
    settings = DataSettings(
        cfg.image.container, cfg.image.max_size_gb * GiB, cfg.image.max_virtual_size_gb * GiB
    )
    try:
        for img in store.reconcile():
            try:
                await data.delete_data(access, settings, img)
                store.remove(img.id)
            except Exception as exc:
                log.warning("image %s still pending deletion: %s", img.id, exc)
        app = make_app(store, access, identity, settings)
        async with serving(app, sock, ServerLimits.from_config(cfg)) as port:
            log.info("image API on %s:%d", cfg.image.host, port)
            yield ImageService(store, access, port)
    finally:
        await access.close()
        store.close()
        identity.close()
        sock.close()


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    """Run the image service until ``stop`` is set."""
    async with running(cfg):
        await stop.wait()
