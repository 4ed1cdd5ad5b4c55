"""Reaching a project's object-store account as one of its users.

The compute glue shares the identity store with the proxy, so it can issue
short-lived tokens itself (as the volume service does for backups) instead
of keeping a service password: image bytes live in the owner project's own
account, under the image service's container. Tokens are cached per user
until close to expiry. The same token source serves the volume and image
APIs for work the compute service does on a user's behalf later (a restart,
a delete), when no request token is at hand.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from objectstore.apiclient import DEFAULT_TIMEOUT, SwiftClient
from stratus.identity import IdentityStore, Principal

TOKEN_LIFETIME = 3600.0
RENEW_BEFORE = 600.0
SERVICE = ("admin", "")  # cache key of the service token: any admin of project admin


class Tokens:
    """Identity tokens for ``(project, user)``, issued locally and cached."""

    def __init__(self, identity: IdentityStore, *, lifetime: float = TOKEN_LIFETIME) -> None:
        self.identity = identity
        self.lifetime = lifetime
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}

    async def token(self, project: str, user: str) -> str:
        """A live token for the user, or for another writer of the project if it is gone."""
        key = (project, user)
        token, expires = self._cache.get(key, ("", 0.0))
        if expires - time.time() >= RENEW_BEFORE:
            return token
        try:
            token, principal = await asyncio.to_thread(
                self.identity.issue_token, project, user, self.lifetime
            )
        except Exception:  # the user is gone: act as another member of the project
            token, principal = await asyncio.to_thread(self._any_writer, project)
        self._cache[key] = (token, principal.expires or time.time() + self.lifetime)
        return token

    async def service_token(self) -> str | None:
        """The compute service's own token, sent as X-Service-Token to the volume service.

        Cinder honours a service token of a service role; here it is a token of an admin
        of project ``admin`` (the first one; `stratus up` makes ``admin:admin``). None when
        there is no such user: attachments are then made, and ended, as the user's alone.
        """
        token, expires = self._cache.get(SERVICE, ("", 0.0))
        if expires - time.time() >= RENEW_BEFORE:
            return token
        try:
            admins = await asyncio.to_thread(self.identity.list_users, SERVICE[0])
        except Exception:
            return None
        for user in sorted(admins, key=lambda u: u.name != "admin"):
            if user.role == "admin":
                token, principal = await asyncio.to_thread(
                    self.identity.issue_token, SERVICE[0], user.name, self.lifetime
                )
                self._cache[SERVICE] = (token, principal.expires or time.time() + self.lifetime)
                return token
        return None

    def _any_writer(self, project: str) -> tuple[str, Principal]:
        for user in self.identity.list_users(project):
            if user.role in ("admin", "member"):
                return self.identity.issue_token(project, user.name, self.lifetime)
        raise PermissionError(f"project {project} has no user that may write")


class ObjectAccess:
    """``await access.client(project, user)``: a SwiftClient for that project's account."""

    def __init__(self, base_url: str, tokens: Tokens) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._session: aiohttp.ClientSession | None = None

    def storage_url(self, project: str) -> str:
        return f"{self.base_url}/v1/AUTH_{project}"

    async def client(self, project: str, user: str) -> SwiftClient:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=DEFAULT_TIMEOUT,
                auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=32),
            )
        token = await self.tokens.token(project, user)
        return SwiftClient(self.storage_url(project), token, session=self._session)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
