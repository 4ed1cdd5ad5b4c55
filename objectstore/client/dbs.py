"""Container and account calls: one call path for the two twins.

A container and an account are the same kind of database on the node (info,
metadata, a sorted listing, rows updated node to node); they differ in their
path, the info their answers carry and the rows they list. :class:`_Database`
makes every call once; :class:`Containers` and :class:`Accounts` only name
the path and the values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import msgpack

from objectstore.client.infos import account_info, container_info
from objectstore.client.transport import Transport, add_update, request_headers
from objectstore.common import wire
from objectstore.common.values import (
    AccountInfo,
    AccountRowUpdate,
    AccountUpdate,
    ContainerInfo,
    ContainerListing,
    ContainerRow,
    ContainerRowUpdate,
    NodeAddress,
    NodeError,
    ObjectListing,
    ObjectRow,
    SubdirRow,
)
from objectstore.timestamp import Timestamp

InfoT = TypeVar("InfoT", ContainerInfo, AccountInfo)
ListingT = TypeVar("ListingT", ObjectListing, ContainerListing)


class _Database(Generic[InfoT, ListingT]):
    """Every call of one kind of database; the path comes built by the caller."""

    def __init__(
        self,
        transport: Transport,
        *,
        info: Callable[[Mapping[str, str]], InfoT],
        row: Callable[[list[Any]], Any],
        listing: type[ListingT],
        batch_path: str,
    ) -> None:
        self.transport = transport
        self.info = info
        self.row = row
        self.listing = listing
        self.batch_path = batch_path

    async def put(
        self,
        dev: NodeAddress,
        path: str,
        timestamp: Timestamp,
        metadata: Mapping[str, str] | None,
        account_update: AccountUpdate | None,
    ) -> bool:
        headers = request_headers(timestamp)
        headers.update(wire.pack_metadata(metadata or {}))
        add_update(headers, account_update, wire.ACCOUNT_HOST)
        resp = await self.transport.call("PUT", dev, path, headers)
        return resp.status == 201

    async def delete(
        self,
        dev: NodeAddress,
        path: str,
        timestamp: Timestamp,
        account_update: AccountUpdate | None,
    ) -> None:
        headers = request_headers(timestamp)
        add_update(headers, account_update, wire.ACCOUNT_HOST)
        await self.transport.call("DELETE", dev, path, headers)

    async def head(self, dev: NodeAddress, path: str) -> InfoT:
        resp = await self.transport.call("HEAD", dev, path, request_headers())
        return self.info(resp.headers)

    async def post(
        self, dev: NodeAddress, path: str, timestamp: Timestamp, metadata: Mapping[str, str]
    ) -> None:
        headers = request_headers(timestamp)
        headers.update(wire.pack_metadata(metadata))
        await self.transport.call("POST", dev, path, headers)

    async def list(self, dev: NodeAddress, path: str, query: dict[str, str]) -> ListingT:
        async with self.transport.request("GET", dev, path, request_headers(), query=query) as resp:
            version, rows = msgpack.unpackb(await resp.read())
            if version != wire.LISTING_VERSION:
                raise NodeError(502, f"unknown listing version {version}")
            out = self.listing(SubdirRow(r) if isinstance(r, str) else self.row(r) for r in rows)
            # InfoT and ListingT come in pairs (a container's info, its object listing),
            # which two type variables cannot say.
            out.info = self.info(resp.headers)  # pyright: ignore[reportAttributeAccessIssue]
            return out

    async def update_rows(self, node: NodeAddress, rows: list[Any]) -> list[int]:
        """Apply packed rows on a node's device, node to node; a status per row."""
        body = msgpack.packb([wire.BATCH_VERSION, rows])
        headers = request_headers()
        headers["Content-Type"] = wire.MSGPACK
        path = f"/{self.batch_path}/{wire.quote_segment(node.device)}"
        async with self.transport.request("POST", node, path, headers, data=body) as resp:
            version, statuses = msgpack.unpackb(await resp.read())
            if version != wire.BATCH_VERSION or len(statuses) != len(rows):
                raise NodeError(502, "malformed batch answer")
            return list(statuses)


class Containers:
    """The container endpoints: a container's info and metadata, its object listing."""

    def __init__(self, transport: Transport) -> None:
        self._db = _Database(
            transport,
            info=container_info,
            row=lambda r: ObjectRow(r[0], r[1], r[2], r[3], Timestamp.from_ticks(r[4])),
            listing=ObjectListing,
            batch_path="cu",
        )

    async def put(
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
        path = wire.container_path(dev.device, part, account, container)
        return await self._db.put(dev, path, timestamp, metadata, account_update)

    async def delete(
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
        path = wire.container_path(dev.device, part, account, container)
        await self._db.delete(dev, path, timestamp, account_update)

    async def head(
        self, dev: NodeAddress, part: int, account: str, container: str
    ) -> ContainerInfo:
        return await self._db.head(dev, wire.container_path(dev.device, part, account, container))

    async def post(
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
        path = wire.container_path(dev.device, part, account, container)
        await self._db.post(dev, path, timestamp, metadata)

    async def list(
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
        return await self._db.list(dev, url_path, query)

    async def update_rows(self, node: NodeAddress, rows: list[ContainerRowUpdate]) -> list[int]:
        """Apply object rows on a container node's device; a status per row
        (2xx applied or already newer, 404 no such container, 507 ...)."""
        return await self._db.update_rows(node, [r.pack() for r in rows])


class Accounts:
    """The account endpoints: an account's info and metadata, its container listing."""

    def __init__(self, transport: Transport) -> None:
        self._db = _Database(
            transport,
            info=account_info,
            row=lambda r: ContainerRow(r[0], r[1], r[2], Timestamp.from_ticks(r[3])),
            listing=ContainerListing,
            batch_path="au",
        )

    async def put(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        *,
        timestamp: Timestamp,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        """Create (True) or re-stamp (False) an account; metadata is merged."""
        path = wire.account_path(dev.device, part, account)
        return await self._db.put(dev, path, timestamp, metadata, None)

    async def delete(
        self, dev: NodeAddress, part: int, account: str, *, timestamp: Timestamp
    ) -> None:
        """Mark the account deleted (its containers are not touched)."""
        await self._db.delete(dev, wire.account_path(dev.device, part, account), timestamp, None)

    async def head(self, dev: NodeAddress, part: int, account: str) -> AccountInfo:
        return await self._db.head(dev, wire.account_path(dev.device, part, account))

    async def post(
        self,
        dev: NodeAddress,
        part: int,
        account: str,
        *,
        timestamp: Timestamp,
        metadata: Mapping[str, str],
    ) -> None:
        """Merge metadata into the account's; an empty value removes a key."""
        path = wire.account_path(dev.device, part, account)
        await self._db.post(dev, path, timestamp, metadata)

    async def list(
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
        """Live containers, like :meth:`Containers.list`; ``.info`` is the account's."""
        query = _listing_query(prefix, marker, end_marker, limit, delimiter, reverse, None)
        return await self._db.list(dev, wire.account_path(dev.device, part, account), query)

    async def update_rows(self, node: NodeAddress, rows: list[AccountRowUpdate]) -> list[int]:
        """Apply container stats rows on an account node's device; a status per row."""
        return await self._db.update_rows(node, [r.pack() for r in rows])


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
