"""The one typed client of the storage node's internal HTTP API.

Nobody else builds node URLs: the proxy, the replicator, the node itself
(container and account updates) and the volume backups all go through
:class:`NodeClient`. A node is addressed by anything with ``.ip``, ``.port``
and ``.device`` (a ``ring.Device``), plus a partition number.

Errors are typed (:class:`NodeUnavailable` when the node cannot be reached
or times out, :class:`NodeError` and its subclasses for an HTTP answer that
is not a success), so the proxy's quorum logic never inspects status codes.

The request's transaction id travels in the :data:`TRANS_ID` context
variable (set it once per incoming request; tasks inherit it) rather than
in every signature.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

import aiohttp
import msgpack
from yarl import URL

from objectstore.client_internal import InternalCalls
from objectstore.node import wire
from objectstore.node.values import (
    AccountInfo,
    AccountRowUpdate,
    AccountUpdate,
    BadRequest,
    Conflict,
    ContainerInfo,
    ContainerListing,
    ContainerRow,
    ContainerRowUpdate,
    ContainerUpdate,
    EtagMismatch,
    InsufficientStorage,
    NodeAddress,
    NodeClientError,
    NodeError,
    NodeUnavailable,
    NotFound,
    ObjectInfo,
    ObjectListing,
    ObjectRow,
    PreconditionFailed,
    RangeNotSatisfiable,
    SubdirRow,
    error_for,
)
from objectstore.timestamp import Timestamp

__all__ = [
    "TRANS_ID",
    "AccountInfo",
    "AccountRowUpdate",
    "AccountUpdate",
    "BadRequest",
    "Conflict",
    "ContainerInfo",
    "ContainerListing",
    "ContainerRow",
    "ContainerRowUpdate",
    "ContainerUpdate",
    "EtagMismatch",
    "InsufficientStorage",
    "NodeAddress",
    "NodeClient",
    "NodeClientError",
    "NodeError",
    "NodeUnavailable",
    "NotFound",
    "ObjectInfo",
    "ObjectListing",
    "ObjectRow",
    "ObjectStream",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "ShortBody",
    "SubdirRow",
]

#: The X-Trans-Id sent with every request made in this context (None: none).
TRANS_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("TRANS_ID", default=None)


# --- streams ------------------------------------------------------------------
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


# --- the client ---------------------------------------------------------------
class NodeClient(InternalCalls):
    """Calls storage nodes over one shared keep-alive session.

    Replication and operator calls (``replicate_hashes``, ``replicate_now``,
    ``device_partitions``...) come from :class:`objectstore.client_internal.InternalCalls`.
    """

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

    @staticmethod
    def make_session(limit: int = 512, limit_per_host: int = 128) -> aiohttp.ClientSession:
        """A session sized for concurrency 64+ across a few nodes (call inside a loop)."""
        connector = aiohttp.TCPConnector(
            limit=limit, limit_per_host=limit_per_host, keepalive_timeout=30, ttl_dns_cache=None
        )
        return aiohttp.ClientSession(connector=connector, auto_decompress=False)

    # -- objects --
    async def put_object(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        obj: str,
        *,
        timestamp: Timestamp,
        body: AsyncIterable[bytes] | bytes,
        content_length: int | None,
        content_type: str,
        metadata: Mapping[str, str],
        container_update: ContainerUpdate | None,
        delete_at: int | None = None,
        expected_etag: str | None = None,
    ) -> ObjectInfo:
        """Store one object version durably; the container row is updated (or queued) first.

        ``body`` may be an async iterable (streamed; if ``content_length`` is
        given it must yield exactly that many bytes, or the upload is aborted
        and nothing is stored). Raises Conflict if a version at least as new
        is stored, EtagMismatch if ``expected_etag`` differs from the MD5.
        """
        headers = self._headers(timestamp)
        headers["Content-Type"] = content_type
        headers.update(wire.pack_metadata(metadata))
        if delete_at is not None:
            headers[wire.DELETE_AT] = str(int(delete_at))
        if expected_etag is not None:
            headers[wire.EXPECTED_ETAG] = expected_etag
        _add_update(headers, container_update, wire.CONTAINER_HOST)
        data: Any
        if isinstance(body, bytes | bytearray | memoryview):
            if content_length is not None and content_length != len(body):
                raise ValueError("content_length differs from len(body)")
            data = bytes(body)
        else:
            if content_length is not None:
                headers["Content-Length"] = str(content_length)
            data = _Body(body, content_length)
        path = wire.object_path(dev.device, part, account, container, obj)
        try:
            async with self._request("PUT", dev, path, headers, data=data) as resp:
                await self._check(resp)
        except NodeUnavailable as exc:
            if isinstance(data, _Body) and data.error is not None:
                raise data.error from exc
            raise
        return ObjectInfo(
            timestamp=timestamp,
            size=int(resp.headers.get("X-Backend-Size", "0")),
            etag=resp.headers.get("ETag", ""),
            content_type=content_type,
            metadata=dict(metadata),
            delete_at=delete_at,
        )

    async def get_object(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        obj: str,
        *,
        range_header: str | None = None,
    ) -> ObjectStream:
        """Open the object for reading. A single ``bytes=`` range gets 206; a
        multi-range header is ignored by the node (200, whole body)."""
        headers = self._headers()
        if range_header:
            headers["Range"] = range_header
        path = wire.object_path(dev.device, part, account, container, obj)
        resp = await self._send("GET", dev, path, headers)
        try:
            await self._check(resp)
            info = _object_info(resp.headers)
        except BaseException:
            resp.release()
            raise
        return ObjectStream(resp, info)

    async def head_object(
        self, dev: NodeAddress, part: int, account: str, container: str, obj: str
    ) -> ObjectInfo:
        """The object's info; NotFound(timestamp=tombstone's or None) when absent."""
        path = wire.object_path(dev.device, part, account, container, obj)
        async with self._request("HEAD", dev, path, self._headers()) as resp:
            await self._check(resp)
            return _object_info(resp.headers)

    async def delete_object(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        obj: str,
        *,
        timestamp: Timestamp,
        container_update: ContainerUpdate | None,
    ) -> None:
        """Write a tombstone. Raises NotFound if no live version existed (the
        tombstone is written all the same, Swift-style), Conflict if newer."""
        headers = self._headers(timestamp)
        _add_update(headers, container_update, wire.CONTAINER_HOST)
        path = wire.object_path(dev.device, part, account, container, obj)
        async with self._request("DELETE", dev, path, headers) as resp:
            await self._check(resp)

    async def post_object(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        obj: str,
        *,
        timestamp: Timestamp,
        metadata: Mapping[str, str],
        content_type: str | None = None,
        delete_at: int | None = None,
    ) -> None:
        """Replace the object's user metadata (Swift's fast-POST semantics);
        ``delete_at`` None clears X-Delete-At, ``content_type`` None keeps it."""
        headers = self._headers(timestamp)
        headers.update(wire.pack_metadata(metadata))
        if content_type is not None:
            headers[wire.POST_CONTENT_TYPE] = content_type
        if delete_at is not None:
            headers[wire.DELETE_AT] = str(int(delete_at))
        path = wire.object_path(dev.device, part, account, container, obj)
        async with self._request("POST", dev, path, headers) as resp:
            await self._check(resp)

    # -- containers --
    async def put_container(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        *,
        timestamp: Timestamp,
        metadata: Mapping[str, str] | None = None,
        account_update: AccountUpdate | None = None,
    ) -> bool:
        """Create (True) or re-stamp (False) a container; metadata is merged.

        The account row is updated before the answer when ``account_update``
        is given (and retried in the background if that fails).
        """
        headers = self._headers(timestamp)
        headers.update(wire.pack_metadata(metadata or {}))
        _add_update(headers, account_update, wire.ACCOUNT_HOST)
        path = wire.container_path(dev.device, part, account, container)
        async with self._request("PUT", dev, path, headers) as resp:
            await self._check(resp)
            return resp.status == 201

    async def delete_container(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        *,
        timestamp: Timestamp,
        account_update: AccountUpdate | None = None,
    ) -> None:
        """Mark the container deleted. Conflict if it holds objects (or is newer)."""
        headers = self._headers(timestamp)
        _add_update(headers, account_update, wire.ACCOUNT_HOST)
        path = wire.container_path(dev.device, part, account, container)
        async with self._request("DELETE", dev, path, headers) as resp:
            await self._check(resp)

    async def head_container(
        self, dev: NodeAddress, part: int, account: str, container: str
    ) -> ContainerInfo:
        path = wire.container_path(dev.device, part, account, container)
        async with self._request("HEAD", dev, path, self._headers()) as resp:
            await self._check(resp)
            return _container_info(resp.headers)

    async def post_container(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        *,
        timestamp: Timestamp,
        metadata: Mapping[str, str],
    ) -> None:
        """Merge metadata into the container's; an empty value removes a key."""
        headers = self._headers(timestamp)
        headers.update(wire.pack_metadata(metadata))
        path = wire.container_path(dev.device, part, account, container)
        async with self._request("POST", dev, path, headers) as resp:
            await self._check(resp)

    async def list_objects(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        container: str,
        *,
        prefix: str = "",
        marker: str = "",
        end_marker: str = "",
        limit: int = wire.MAX_LISTING_LIMIT,
        delimiter: str = "",
        reverse: bool = False,
        path: str | None = None,
    ) -> ObjectListing:
        """Up to ``limit`` rows after ``marker`` (before it when ``reverse``),
        sorted by UTF-8 bytes; ``.info`` carries the container's info."""
        query = _listing_query(prefix, marker, end_marker, limit, delimiter, reverse, path)
        url_path = wire.container_path(dev.device, part, account, container)
        async with self._request("GET", dev, url_path, self._headers(), query=query) as resp:
            await self._check(resp)
            rows = _listing_rows(await resp.read())
            out = ObjectListing(
                SubdirRow(r)
                if isinstance(r, str)
                else ObjectRow(r[0], r[1], r[2], r[3], Timestamp.from_ticks(r[4]))
                for r in rows
            )
            out.info = _container_info(resp.headers)
            return out

    # -- accounts --
    async def put_account(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        *,
        timestamp: Timestamp,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        """Create (True) or re-stamp (False) an account; metadata is merged."""
        headers = self._headers(timestamp)
        headers.update(wire.pack_metadata(metadata or {}))
        path = wire.account_path(dev.device, part, account)
        async with self._request("PUT", dev, path, headers) as resp:
            await self._check(resp)
            return resp.status == 201

    async def delete_account(
        self, dev: NodeAddress, part: int, account: str, *, timestamp: Timestamp
    ) -> None:
        """Mark the account deleted (its containers are not touched)."""
        path = wire.account_path(dev.device, part, account)
        async with self._request("DELETE", dev, path, self._headers(timestamp)) as resp:
            await self._check(resp)

    async def head_account(self, dev: NodeAddress, part: int, account: str) -> AccountInfo:
        path = wire.account_path(dev.device, part, account)
        async with self._request("HEAD", dev, path, self._headers()) as resp:
            await self._check(resp)
            return _account_info(resp.headers)

    async def post_account(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        *,
        timestamp: Timestamp,
        metadata: Mapping[str, str],
    ) -> None:
        """Merge metadata into the account's; an empty value removes a key."""
        headers = self._headers(timestamp)
        headers.update(wire.pack_metadata(metadata))
        path = wire.account_path(dev.device, part, account)
        async with self._request("POST", dev, path, headers) as resp:
            await self._check(resp)

    async def list_containers(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        *,
        prefix: str = "",
        marker: str = "",
        end_marker: str = "",
        limit: int = wire.MAX_LISTING_LIMIT,
        delimiter: str = "",
        reverse: bool = False,
    ) -> ContainerListing:
        """Live containers, like :meth:`list_objects`; ``.info`` is the account's."""
        query = _listing_query(prefix, marker, end_marker, limit, delimiter, reverse, None)
        path = wire.account_path(dev.device, part, account)
        async with self._request("GET", dev, path, self._headers(), query=query) as resp:
            await self._check(resp)
            rows = _listing_rows(await resp.read())
            out = ContainerListing(
                SubdirRow(r)
                if isinstance(r, str)
                else ContainerRow(r[0], r[1], r[2], Timestamp.from_ticks(r[3]))
                for r in rows
            )
            out.info = _account_info(resp.headers)
            return out

    # -- node to node --
    async def update_container_rows(
        self, node: NodeAddress, rows: list[ContainerRowUpdate]
    ) -> list[int]:
        """Apply object rows on a container node's device; a status per row
        (2xx applied or already newer, 404 no such container, 507 ...)."""
        return await self._batch(node, "cu", [r.pack() for r in rows])

    async def update_account_rows(
        self, node: NodeAddress, rows: list[AccountRowUpdate]
    ) -> list[int]:
        """Apply container stats rows on an account node's device; a status per row."""
        return await self._batch(node, "au", [r.pack() for r in rows])

    async def healthcheck(self, node: NodeAddress) -> None:
        """Return when the node process answers (NodeUnavailable otherwise)."""
        async with self._request("GET", node, "/healthcheck", self._headers()) as resp:
            await self._check(resp)

    async def node_stats(self, node: NodeAddress) -> dict[str, Any]:
        """The node's counters: per-device commits and ops, update requests."""
        async with self._request("GET", node, "/stats", self._headers()) as resp:
            await self._check(resp)
            return await resp.json()

    # -- plumbing --
    async def _batch(self, node: NodeAddress, kind: str, rows: list[Any]) -> list[int]:
        body = msgpack.packb([wire.BATCH_VERSION, rows])
        headers = self._headers()
        headers["Content-Type"] = wire.MSGPACK
        path = f"/{kind}/{wire.quote_segment(node.device)}"
        async with self._request("POST", node, path, headers, data=body) as resp:
            await self._check(resp)
            version, statuses = msgpack.unpackb(await resp.read())
            if version != wire.BATCH_VERSION or len(statuses) != len(rows):
                raise NodeError(502, "malformed batch answer")
            return list(statuses)

    @staticmethod
    def _headers(timestamp: Timestamp | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if timestamp is not None:
            headers[wire.TIMESTAMP] = timestamp.normal
        trans = TRANS_ID.get()
        if trans:
            headers[wire.TRANS_ID] = trans
        return headers

    def _request(
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
        return _Call(self, method, node, path, headers, data, query, timeout)

    async def _send(
        self,
        method: str,
        node: NodeAddress,
        path: str,
        headers: dict[str, str],
        data: Any = None,
        query: dict[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientResponse:
        host = wire.join_host(node.ip, node.port)
        url = URL(f"http://{host}{path}", encoded=True)
        if query:
            url = url.with_query(query)
        try:
            return await self.session.request(
                method, url, headers=headers, data=data, timeout=timeout or self.timeout
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise NodeUnavailable(host, repr(exc)) from exc

    @staticmethod
    async def _check(resp: aiohttp.ClientResponse) -> None:
        if resp.status < 300:
            return
        try:
            body = (await resp.read())[:1024].decode("utf-8", "replace")
        except (TimeoutError, aiohttp.ClientError):
            body = ""
        ts = resp.headers.get(wire.BACKEND_TIMESTAMP)
        raise error_for(resp.status, body, Timestamp(ts) if ts else None)


class ShortBody(NodeClientError):
    """The body iterable yielded fewer or more bytes than ``content_length``."""


class _Call:
    """``async with`` around one request: always releases the connection."""

    __slots__ = ("args", "client", "resp")

    def __init__(self, client: NodeClient, *args: Any) -> None:
        self.client = client
        self.args = args
        self.resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        self.resp = await self.client._send(*self.args)
        return self.resp

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.resp is not None
        if exc_type is not None and issubclass(
            exc_type, aiohttp.ClientError | asyncio.TimeoutError
        ):
            self.resp.release()
            raise NodeUnavailable(str(self.resp.url.origin()), repr(exc)) from exc
        self.resp.release()


class _Body:
    """Pass a body iterable through, checking its length and keeping its failure.

    When the iterable itself fails (the proxy's client went away) or yields
    the wrong number of bytes, that failure is raised to the caller instead
    of a NodeUnavailable: the node did nothing wrong.
    """

    def __init__(self, body: AsyncIterable[bytes], length: int | None) -> None:
        self.body = body
        self.length = length
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
        except Exception as exc:
            self.error = exc
            raise


def _add_update(headers: dict[str, str], update: Any, host_header: str) -> None:
    if update is None:
        return
    dev = update.dev
    prefix = host_header.rsplit("-", 1)[0]  # X-Container / X-Account
    headers[host_header] = wire.join_host(dev.ip, dev.port)
    headers[f"{prefix}-Device"] = dev.device
    headers[f"{prefix}-Partition"] = str(update.part)


def _listing_query(
    prefix: str,
    marker: str,
    end_marker: str,
    limit: int,
    delimiter: str,
    reverse: bool,
    path: str | None,
) -> dict[str, str]:
    query = {"limit": str(limit)}
    for key, value in (
        ("prefix", prefix),
        ("marker", marker),
        ("end_marker", end_marker),
        ("delimiter", delimiter),
    ):
        if value:
            query[key] = value
    if reverse:
        query["reverse"] = "1"
    if path is not None:
        query["path"] = path
    return query


def _listing_rows(body: bytes) -> list[Any]:
    version, rows = msgpack.unpackb(body)
    if version != wire.LISTING_VERSION:
        raise NodeError(502, f"unknown listing version {version}")
    return rows


def _ts(headers: Mapping[str, str], name: str) -> Timestamp | None:
    value = headers.get(name)
    return Timestamp(value) if value else None


def _object_info(headers: Mapping[str, str]) -> ObjectInfo:
    delete_at = headers.get(wire.DELETE_AT)
    size = headers.get("X-Backend-Size") or headers.get("Content-Length", "0")
    return ObjectInfo(
        timestamp=Timestamp(headers[wire.BACKEND_TIMESTAMP]),
        size=int(size),
        etag=headers.get("ETag", "").strip('"'),
        content_type=headers.get("Content-Type", ""),
        metadata=wire.unpack_metadata(headers),
        delete_at=int(delete_at) if delete_at else None,
        meta_timestamp=_ts(headers, wire.META_TIMESTAMP),
    )


def _container_info(headers: Mapping[str, str]) -> ContainerInfo:
    return ContainerInfo(
        put_timestamp=Timestamp(headers[wire.PUT_TIMESTAMP]),
        delete_timestamp=_ts(headers, wire.DELETE_TIMESTAMP),
        created_at=Timestamp(headers[wire.CREATED_AT]),
        object_count=int(headers[wire.OBJECT_COUNT]),
        bytes_used=int(headers[wire.BYTES_USED]),
        metadata=wire.unpack_metadata(headers),
    )


def _account_info(headers: Mapping[str, str]) -> AccountInfo:
    return AccountInfo(
        put_timestamp=Timestamp(headers[wire.PUT_TIMESTAMP]),
        delete_timestamp=_ts(headers, wire.DELETE_TIMESTAMP),
        created_at=Timestamp(headers[wire.CREATED_AT]),
        container_count=int(headers[wire.CONTAINER_COUNT]),
        object_count=int(headers[wire.OBJECT_COUNT]),
        bytes_used=int(headers[wire.BYTES_USED]),
        metadata=wire.unpack_metadata(headers),
    )


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
