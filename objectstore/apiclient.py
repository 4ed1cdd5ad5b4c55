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

from stratus.http.client import HttpError, JsonClient

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
PAGE = 10000


class SwiftError(HttpError):
    """The object store answered with an error status."""

    def __init__(self, status: int, method: str, path: str, body: str = "") -> None:
        super().__init__(f"{method} {path}: HTTP {status} {body[:200]}".rstrip(), status)


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


def _error(resp: aiohttp.ClientResponse, body: bytes) -> SwiftError:
    cls = NotFound if resp.status == 404 else SwiftError
    return cls(resp.status, resp.method, resp.url.path, body[:1000].decode("utf-8", "replace"))


def _client(
    base_url: str,
    token: str | None,
    session: aiohttp.ClientSession | None,
    timeout: aiohttp.ClientTimeout,
) -> JsonClient:
    """The shared client as Swift is spoken: any status from 300 is an error, bodies as sent."""
    return JsonClient(
        base_url,
        token,
        session=session,
        timeout=timeout,
        errors=_error,
        error_status=300,
        auto_decompress=False,
    )


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
        self._http = _client(storage_url, token, session, timeout)

    @property
    def storage_url(self) -> str:
        return self._http.base_url

    @property
    def token(self) -> str:
        return self._http.token or ""

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
        auth = _client(auth_url, None, session, DEFAULT_TIMEOUT)
        try:
            reply = await auth.send("GET", "", headers={"X-Auth-User": user, "X-Auth-Key": key})
            url, token = reply.headers["X-Storage-Url"], reply.headers["X-Auth-Token"]
        except BaseException:
            await auth.close()
            raise
        client = cls(url, token, session=auth.session)
        client._http.owns_session = auth.owns_session
        return client

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> SwiftClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing --------------------------------------------------------------------

    @staticmethod
    def _path(container: str, obj: str | None = None) -> str:
        path = "/" + quote(container, safe="")
        if obj is not None:
            path += "/" + quote(obj, safe="/")
        return path

    async def _call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, dict[str, str], bytes]:
        reply = await self._http.send(method, path, headers=headers, **kw)
        return reply.status, dict(reply.headers), reply.body

    # -- containers ------------------------------------------------------------------

    async def put_container(self, container: str, headers: dict[str, str] | None = None) -> None:
        """Create the container (or update its metadata); idempotent."""
        await self._call("PUT", self._path(container), headers=headers)

    async def head_container(self, container: str) -> dict[str, str]:
        return (await self._call("HEAD", self._path(container)))[1]

    async def delete_container(self, container: str) -> None:
        await self._call("DELETE", self._path(container))

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
        status, _, body = await self._call("GET", self._path(container), params=params)
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

    async def iter_objects(
        self, container: str, *, prefix: str | None = None
    ) -> AsyncIterator[ObjectInfo]:
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
        _, hdrs, _ = await self._call("PUT", self._path(container, name), headers=extra, data=body)
        return hdrs.get("Etag", "").strip('"')

    async def get_object(self, container: str, name: str) -> bytes:
        return (await self._call("GET", self._path(container, name)))[2]

    @asynccontextmanager
    async def open_object(
        self, container: str, name: str, *, headers: dict[str, str] | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response of a GET, to stream ``resp.content`` (errors raise before yielding)."""
        async with self._http.open("GET", self._path(container, name), headers=headers) as resp:
            yield resp

    async def head_object(self, container: str, name: str) -> dict[str, str] | None:
        """The object's headers, or None when it does not exist."""
        try:
            return (await self._call("HEAD", self._path(container, name)))[1]
        except NotFound:
            return None

    async def delete_object(self, container: str, name: str, *, missing_ok: bool = True) -> bool:
        """Delete; False when it was already gone (``missing_ok``) instead of NotFound."""
        try:
            await self._call("DELETE", self._path(container, name))
        except NotFound:
            if not missing_ok:
                raise
            return False
        return True
