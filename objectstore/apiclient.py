"""A small typed async client of the object store's PUBLIC native (Swift) API.

This is the only part of ``objectstore`` that other services (volume
backups, compute images) may import: it speaks plain HTTP to the proxy, like
python-swiftclient does, and knows nothing of rings or storage nodes::

    async with await SwiftClient.login(auth_url, "demo:bob", key) as swift:
        await swift.put_container("backups")
        await swift.put_object("backups", "a/b", b"bytes")
        async for info in swift.iter_objects("backups", prefix="a/"):
            ...

or ``SwiftClient(storage_url, token)`` with a token obtained elsewhere.
Object names are percent-encoded here; bodies stream both ways.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
PAGE = 10000


class SwiftError(Exception):
    """The object store answered with an error status."""

    def __init__(self, status: int, method: str, path: str, body: str = "") -> None:
        super().__init__(f"{method} {path}: HTTP {status} {body[:200]}".rstrip())
        self.status = status


class NotFound(SwiftError):
    """404: no such container or object."""


@dataclass(frozen=True)
class ObjectInfo:
    """One row of a container listing (``format=json``)."""

    name: str
    bytes: int
    hash: str
    last_modified: str
    content_type: str


def _raise_for(resp: aiohttp.ClientResponse, body: str = "") -> None:
    if resp.status < 300:
        return
    cls = NotFound if resp.status == 404 else SwiftError
    raise cls(resp.status, resp.method, resp.url.path, body)


class SwiftClient:
    """One account's storage URL and a token for it."""

    def __init__(
        self,
        storage_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.storage_url = storage_url.rstrip("/")
        self.token = token
        self._own_session = session is None
        self._session = session or aiohttp.ClientSession(timeout=timeout, auto_decompress=False)

    @classmethod
    async def login(
        cls,
        auth_url: str,
        user: str,
        key: str,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> SwiftClient:
        """GET /auth/v1.0 with ``project:user`` and its key; a client for the account."""
        own = session or aiohttp.ClientSession(timeout=DEFAULT_TIMEOUT, auto_decompress=False)
        try:
            headers = {"X-Auth-User": user, "X-Auth-Key": key}
            async with own.get(auth_url, headers=headers) as resp:
                _raise_for(resp, await resp.text())
                url, token = resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]
        except BaseException:
            if session is None:
                await own.close()
            raise
        client = cls(url, token, session=own)
        client._own_session = session is None
        return client

    async def close(self) -> None:
        if self._own_session:
            await self._session.close()

    async def __aenter__(self) -> SwiftClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing --------------------------------------------------------------------

    def _url(self, container: str, obj: str | None = None) -> str:
        path = "/" + quote(container, safe="")
        if obj is not None:
            path += "/" + quote(obj, safe="/")
        return self.storage_url + path

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **(extra or {})}

    async def _call(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, dict[str, str], bytes]:
        async with self._session.request(method, url, headers=self._headers(headers), **kw) as r:
            body = await r.read()
            if r.status >= 300:  # decode only error bodies: object bodies can be large
                _raise_for(r, body[:1000].decode("utf-8", "replace"))
            return r.status, dict(r.headers), body

    # -- containers ------------------------------------------------------------------

    async def put_container(self, container: str, headers: dict[str, str] | None = None) -> None:
        """Create the container (or update its metadata); idempotent."""
        await self._call("PUT", self._url(container), headers=headers)

    async def head_container(self, container: str) -> dict[str, str]:
        return (await self._call("HEAD", self._url(container)))[1]

    async def delete_container(self, container: str) -> None:
        await self._call("DELETE", self._url(container))

    async def list_objects(
        self,
        container: str,
        *,
        prefix: str | None = None,
        marker: str | None = None,
        limit: int | None = None,
    ) -> list[ObjectInfo]:
        """One page of the listing (up to ``limit`` or the server's page size)."""
        params = {"format": "json"}
        if prefix:
            params["prefix"] = prefix
        if marker:
            params["marker"] = marker
        if limit is not None:
            params["limit"] = str(limit)
        status, _, body = await self._call("GET", self._url(container), params=params)
        rows = json.loads(body) if status == 200 and body else []
        return [
            ObjectInfo(
                r["name"],
                int(r.get("bytes", 0)),
                r.get("hash", ""),
                r.get("last_modified", ""),
                r.get("content_type", ""),
            )
            for r in rows
            if "name" in r
        ]

    async def iter_objects(self, container: str, *, prefix: str | None = None):  # type: ignore[no-untyped-def]
        """Every object of the listing, page after page."""
        marker = None
        while True:
            page = await self.list_objects(container, prefix=prefix, marker=marker, limit=PAGE)
            for row in page:
                yield row
            if len(page) < PAGE:
                return
            marker = page[-1].name

    # -- objects ---------------------------------------------------------------------

    async def put_object(
        self,
        container: str,
        name: str,
        data: bytes | bytearray | memoryview | AsyncIterable[bytes],
        *,
        content_type: str = "application/octet-stream",
        etag: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Store an object (a bytes body, or an async iterable streamed chunked); its ETag."""
        extra = {"Content-Type": content_type, **(headers or {})}
        if etag is not None:
            extra["ETag"] = etag
        body: Any = data
        if isinstance(data, bytearray | memoryview):
            body = bytes(data)
        _, hdrs, _ = await self._call("PUT", self._url(container, name), headers=extra, data=body)
        return hdrs.get("Etag", "").strip('"')

    async def get_object(self, container: str, name: str) -> bytes:
        return (await self._call("GET", self._url(container, name)))[2]

    @asynccontextmanager
    async def open_object(
        self, container: str, name: str, *, headers: dict[str, str] | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response of a GET, to stream ``resp.content`` (errors raise before yielding)."""
        url = self._url(container, name)
        async with self._session.get(url, headers=self._headers(headers)) as resp:
            if resp.status >= 300:
                _raise_for(resp, (await resp.read()).decode("utf-8", "replace"))
            yield resp

    async def head_object(self, container: str, name: str) -> dict[str, str] | None:
        """The object's headers, or None when it does not exist."""
        try:
            return (await self._call("HEAD", self._url(container, name)))[1]
        except NotFound:
            return None

    async def delete_object(self, container: str, name: str, *, missing_ok: bool = True) -> bool:
        """Delete; False when it was already gone (``missing_ok``) instead of NotFound."""
        try:
            await self._call("DELETE", self._url(container, name))
        except NotFound:
            if not missing_ok:
                raise
            return False
        return True
