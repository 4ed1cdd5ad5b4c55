"""Object calls: PUT, GET, HEAD, DELETE and POST of one object on one node."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Mapping
from typing import Any

from objectstore.client.infos import object_info
from objectstore.client.transport import (
    ObjectStream,
    Transport,
    _Body,
    add_update,
    request_headers,
)
from objectstore.common import footer as footers
from objectstore.common import wire
from objectstore.common.values import ContainerUpdate, NodeAddress, NodeUnavailable, ObjectInfo
from objectstore.timestamp import Timestamp


class Objects:
    """The object endpoints of the node API, over one :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def put(
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
        footer: Callable[[], Mapping[str, str]] | None = None,
    ) -> ObjectInfo:
        """Store one object version durably; the container row is updated (or queued) first.

        ``body`` may be an async iterable (streamed; if ``content_length`` is
        given it must yield exactly that many bytes, or the upload is aborted
        and nothing is stored). Raises Conflict if a version at least as new
        is stored, EtagMismatch if ``expected_etag`` differs from the MD5.
        ``footer`` gives metadata known only after the body's last byte: it is
        called then, sent after the body, and stored with the object.
        """
        if footer is not None and isinstance(body, bytes | bytearray | memoryview):
            metadata, footer = {**metadata, **footer()}, None  # known now: no footer needed
        headers = request_headers(timestamp)
        headers["Content-Type"] = content_type
        headers.update(wire.pack_metadata(metadata))
        if delete_at is not None:
            headers[wire.DELETE_AT] = str(int(delete_at))
        if expected_etag is not None:
            headers[wire.EXPECTED_ETAG] = expected_etag
        add_update(headers, container_update, wire.CONTAINER_HOST)
        data: Any
        if isinstance(body, bytes | bytearray | memoryview):
            if content_length is not None and content_length != len(body):
                raise ValueError("content_length differs from len(body)")
            data = bytes(body)
        elif footer is not None:  # the footer's size is unknown: the body goes chunked
            headers[footers.HEADER] = "1"
            if content_length is not None:
                headers[footers.OBJECT_LENGTH] = str(content_length)
            data = _Body(body, content_length, footer)
        else:
            if content_length is not None:
                headers["Content-Length"] = str(content_length)
            data = _Body(body, content_length)
        path = wire.object_path(dev.device, part, account, container, obj)
        try:
            resp = await self.transport.call("PUT", dev, path, headers, data=data)
        except NodeUnavailable as exc:
            if isinstance(data, _Body) and data.error is not None:
                raise data.error from exc
            raise
        return ObjectInfo(
            timestamp=timestamp,
            size=int(resp.headers.get("X-Backend-Size", "0")),
            etag=resp.headers.get("ETag", ""),
            content_type=content_type,
            metadata={**metadata, **(footer() if footer is not None else {})},
            delete_at=delete_at,
        )

    async def get(
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
        headers = request_headers()
        if range_header:
            headers["Range"] = range_header
        path = wire.object_path(dev.device, part, account, container, obj)
        resp = await self.transport.open("GET", dev, path, headers)
        try:
            info = object_info(resp.headers)
        except BaseException:
            resp.release()
            raise
        return ObjectStream(resp, info)

    async def head(
        self, dev: NodeAddress, part: int, account: str, container: str, obj: str
    ) -> ObjectInfo:
        """The object's info; NotFound(timestamp=tombstone's or None) when absent."""
        path = wire.object_path(dev.device, part, account, container, obj)
        resp = await self.transport.call("HEAD", dev, path, request_headers())
        return object_info(resp.headers)

    async def delete(
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
        headers = request_headers(timestamp)
        add_update(headers, container_update, wire.CONTAINER_HOST)
        path = wire.object_path(dev.device, part, account, container, obj)
        await self.transport.call("DELETE", dev, path, headers)

    async def post(
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
        headers = request_headers(timestamp)
        headers.update(wire.pack_metadata(metadata))
        if content_type is not None:
            headers[wire.POST_CONTENT_TYPE] = content_type
        if delete_at is not None:
            headers[wire.DELETE_AT] = str(int(delete_at))
        path = wire.object_path(dev.device, part, account, container, obj)
        await self.transport.call("POST", dev, path, headers)
