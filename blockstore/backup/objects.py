"""Object-store access for backups and images, acting as the user who asked.

The volume service shares the identity store with the proxy, so it can
issue a short-lived token for the project's user whose request started the
work and reach that project's own account (``AUTH_<project>``) over the
public API: backups live with the data of the project that owns them, and
their container obeys the project's object-store rules. Tokens are cached
per user until close to expiry.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import aiohttp

from blockstore.manager.errors import BadRequest
from objectstore.apiclient import DEFAULT_TIMEOUT, SwiftClient

if TYPE_CHECKING:
    from stratus.identity import IdentityStore

TOKEN_LIFETIME = 3600.0
RENEW_BEFORE = 600.0


class TooLarge(Exception):
    """A stored object is larger than what reading it may cost."""


async def read_capped(client: SwiftClient, container: str, name: str, limit: int) -> bytes:
    """An object's body, refused (TooLarge) past ``limit`` bytes without reading further:
    backups read objects of the tenant's account, which the tenant can overwrite."""
    async with client.open_object(container, name) as resp:
        if resp.content_length is not None and resp.content_length > limit:
            raise TooLarge(f"object {name} has {resp.content_length} bytes, over {limit}")
        body = bytearray()
        while len(body) <= limit:
            more = await resp.content.read(limit + 1 - len(body))
            if not more:
                break
            body += more
    if len(body) > limit:
        raise TooLarge(f"object {name} is over {limit} bytes")
    return bytes(body)


class ObjectAccess:
    """``await access.client(project, user)``: a SwiftClient for that project's account."""

    def __init__(
        self, base_url: str, identity: IdentityStore, *, lifetime: float = TOKEN_LIFETIME
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.lifetime = lifetime
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._session: aiohttp.ClientSession | None = None

    def storage_url(self, project: str) -> str:
        return f"{self.base_url}/v1/AUTH_{project}"

    def session(self) -> aiohttp.ClientSession:
        """The one HTTP session (object store and image API)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=64)
            self._session = aiohttp.ClientSession(
                timeout=DEFAULT_TIMEOUT, auto_decompress=False, connector=connector
            )
        return self._session

    async def token(self, project: str, user: str) -> str:
        """A token of ``user`` in ``project`` (any Stratus service accepts it)."""
        key = (project, user)
        token, expires = self._tokens.get(key, ("", 0.0))
        if expires - time.time() < RENEW_BEFORE:
            token, principal = await asyncio.to_thread(
                self.identity.issue_token, project, user, self.lifetime
            )
            expires = principal.expires or time.time() + self.lifetime
            self._tokens[key] = (token, expires)
        return token

    async def client(self, project: str, user: str) -> SwiftClient:
        token = await self.token(project, user)
        return SwiftClient(self.storage_url(project), token, session=self.session())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def required(objects: ObjectAccess | None) -> ObjectAccess:
    """The object store, or the answer a service without one gives (backups and images)."""
    if objects is None:
        raise BadRequest("Backups need the object store, which is not configured here.")
    return objects
