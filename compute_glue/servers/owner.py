"""The image and volume APIs on a server owner's behalf.

A server's image is fetched and its volumes are attached with a token of
the user who made the server (or another writer of its project, if that
user is gone), plus the compute service's own token for the volume service
(Cinder's service token), over one shared HTTP session.
"""

from __future__ import annotations

import aiohttp

from blockstore.client import VolumeClient
from compute_glue.images.client import ImageClient
from compute_glue.objects import Tokens
from compute_glue.servers.model import Server


class OwnerClients:
    """``await clients.volumes(server)``, ``await clients.images(server)``."""

    def __init__(self, tokens: Tokens, image_url: str, volume_url: str) -> None:
        self.tokens = tokens
        self.image_url = image_url
        self.volume_url = volume_url
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def volumes(self, server: Server) -> VolumeClient:
        token = await self.tokens.token(server.project, server.user)
        return VolumeClient(
            self.volume_url,
            token,
            server.project,
            session=self.session(),
            service_token=await self.tokens.service_token(),
        )

    async def images(self, server: Server) -> ImageClient:
        token = await self.tokens.token(server.project, server.user)
        return ImageClient(self.image_url, token, session=self.session())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
