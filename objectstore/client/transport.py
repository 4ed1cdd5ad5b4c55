"""One request to a storage node over the shared keep-alive session.

Every call of :class:`objectstore.client.NodeClient` goes through
:class:`Transport`: it builds the URL from a ``NodeAddress`` and a wire path,
adds the request's transaction id, turns a failed connection or a timeout
into :class:`NodeUnavailable` and an error status into the typed
:class:`NodeError`. The body streams of both directions live here too
(:class:`ObjectStream` for a GET, :class:`_Body` for a streamed PUT).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from objectstore.common import footer, wire
from objectstore.common.values import (
    AccountUpdate,
    ContainerUpdate,
    NodeAddress,
    NodeClientError,
    NodeUnavailable,
    ObjectInfo,
    error_for,
)
from objectstore.timestamp import Timestamp
from stratus.http import requestid

#: The X-Trans-Id sent with every request made in this context (None: none): the shared
#: request id, so the proxy's and the nodes' log lines carry it too.
TRANS_ID = requestid.CURRENT


def make_session(limit: int = 512, limit_per_host: int = 128) -> aiohttp.ClientSession:
    """A session sized for concurrency 64+ across a few nodes (call inside a loop)."""
    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=limit_per_host, keepalive_timeout=30, ttl_dns_cache=None
    )
    # A container's metadata comes back in up to MAX_META_HEADERS headers (aiohttp: 128).
    headers = wire.MAX_META_HEADERS + 64
    return aiohttp.ClientSession(connector=connector, auto_decompress=False, max_headers=headers)


def request_headers(timestamp: Timestamp | None = None) -> dict[str, str]:
    """The headers every call starts from: its X-Timestamp and the context's X-Trans-Id."""
    headers: dict[str, str] = {}
    if timestamp is not None:
        headers[wire.TIMESTAMP] = timestamp.normal
    trans = TRANS_ID.get()
    if trans:
        headers[wire.TRANS_ID] = trans
    return headers


def add_update(
    headers: dict[str, str], update: ContainerUpdate | AccountUpdate | None, host_header: str
) -> None:
    """Name the replica the node must update next (``X-Container-*`` or ``X-Account-*``)."""
    if update is None:
        return
    dev = update.dev
    prefix = host_header.rsplit("-", 1)[0]  # X-Container / X-Account
    headers[host_header] = wire.join_host(dev.ip, dev.port)
    headers[f"{prefix}-Device"] = dev.device
    headers[f"{prefix}-Partition"] = str(update.part)


class Transport:
    """Sends requests to any node; holds the session and the timeouts, nothing else."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        conn_timeout: float = 2.0,
        node_timeout: float = 10.0,
    ) -> None:
        self.session = session
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=conn_timeout, sock_read=node_timeout
        )

    def request(
        self,
        method: str,
        node: NodeAddress,
        path: str,
        headers: dict[str, str],
        *,
        data: Any = None,
        query: dict[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> _Call:
        """``async with`` a successful answer; the connection is always released after."""
        return _Call(self, method, node, path, headers, data, query, timeout)

    async def call(
        self,
        method: str,
        node: NodeAddress,
        path: str,
        headers: dict[str, str],
        *,
        data: Any = None,
        query: dict[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """A successful answer read for its status and headers only (already released)."""
        async with self.request(method, node, path, headers, data=data, query=query) as resp:
            return resp

    async def open(
        self,
        method: str,
        node: NodeAddress,
        path: str,
        headers: dict[str, str],
        data: Any = None,
        query: dict[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientResponse:
        """A successful answer whose body is still to read: the caller releases it."""
        host = wire.join_host(node.ip, node.port)
        url = URL(f"http://{host}{path}", encoded=True)
        if query:
            url = url.with_query(query)
        try:
            resp = await self.session.request(
                method, url, headers=headers, data=data, timeout=timeout or self.timeout
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise NodeUnavailable(host, repr(exc)) from exc
        try:
            await _check(resp)
        except BaseException:
            resp.release()
            raise
        return resp


async def _check(resp: aiohttp.ClientResponse) -> None:
    if resp.status < 300:
        return
    try:
        body = (await resp.read())[:1024].decode("utf-8", "replace")
    except (TimeoutError, aiohttp.ClientError):
        body = ""
    ts = resp.headers.get(wire.BACKEND_TIMESTAMP)
    raise error_for(resp.status, body, Timestamp(ts) if ts else None)


class _Call:
    """``async with`` around one request: always releases the connection."""

    __slots__ = ("args", "resp", "transport")

    def __init__(self, transport: Transport, *args: Any) -> None:
        self.transport = transport
        self.args = args
        self.resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        self.resp = await self.transport.open(*self.args)
        return self.resp

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.resp is not None
        self.resp.release()
        if exc_type is not None and issubclass(
            exc_type, aiohttp.ClientError | asyncio.TimeoutError
        ):
            raise NodeUnavailable(str(self.resp.url.origin()), repr(exc)) from exc


# --- body streams -------------------------------------------------------------
class ObjectStream:
    """An open GET: ``info``, ``status`` (200 or 206), then the body by chunks.

    Always ``close()`` it (or use ``async with``) so the connection goes back
    to the pool; reading to the end also releases it.
    """

    def __init__(self, resp: aiohttp.ClientResponse, info: ObjectInfo) -> None:
        self._resp = resp
        self.info = info
        self.status = resp.status
        self.headers: Mapping[str, str] = resp.headers
        self.content_length = int(resp.headers.get("Content-Length", info.size))
        self.content_range = _parse_content_range(resp.headers.get("Content-Range"))

    async def iter_chunks(self, size: int = 65536) -> AsyncIterator[bytes]:
        """The body, in chunks of at most ``size`` bytes."""
        try:
            async for chunk in self._resp.content.iter_chunked(size):
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.close()
            raise NodeUnavailable(str(self._resp.url.origin()), f"body read: {exc!r}") from exc
        self.close()

    async def read(self) -> bytes:
        """The whole body (for small objects and tests)."""
        return b"".join([c async for c in self.iter_chunks()])

    def close(self) -> None:
        self._resp.release()

    async def __aenter__(self) -> ObjectStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class ShortBody(NodeClientError):
    """The body iterable yielded fewer or more bytes than ``content_length``."""


class _Body:
    """Pass a body iterable through, checking its length and keeping its failure.

    When the iterable itself fails (the proxy's client went away) or yields
    the wrong number of bytes, that failure is raised to the caller instead
    of a NodeUnavailable: the node did nothing wrong.
    """

    def __init__(
        self,
        body: AsyncIterable[bytes],
        length: int | None,
        footer: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.body = body
        self.length = length
        self.footer = footer  # metadata sent after the last byte (objectstore.common.footer)
        self.error: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        try:
            async for chunk in self.body:
                seen += len(chunk)
                if self.length is not None and seen > self.length:
                    raise ShortBody(f"body longer than Content-Length {self.length}")
                yield chunk
            if self.length is not None and seen != self.length:
                raise ShortBody(f"body ended after {seen} of {self.length} bytes")
            if self.footer is not None:
                yield footer.encode(self.footer())
        except Exception as exc:
            self.error = exc
            raise


def _parse_content_range(value: str | None) -> tuple[int, int, int] | None:
    """``bytes first-last/total`` into a tuple (None when absent)."""
    if not value or not value.startswith("bytes "):
        return None
    span, _, total = value[6:].partition("/")
    first, _, last = span.partition("-")
    try:
        return int(first), int(last), int(total)
    except ValueError:
        return None
