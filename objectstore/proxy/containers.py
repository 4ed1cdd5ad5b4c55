"""Containers: made, read, updated, listed and deleted; their info cached for object writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectstore import client as nc
from objectstore.proxy import errors, stored
from objectstore.proxy.accounts import Accounts
from objectstore.proxy.databases import CONTAINER, Database
from objectstore.proxy.fanout import Fanout
from objectstore.proxy.infocache import InfoCache
from objectstore.proxy.models import ContainerInfo, ListParams
from objectstore.proxy.names import MAX_ACCOUNT_NAME, MAX_CONTAINER_NAME, check_name
from objectstore.proxy.placement import Outcome
from objectstore.timestamp import Timestamp
from ring import Ring


class Containers:
    """The container operations of the core; ``seen`` caches what a HEAD or listing found."""

    def __init__(
        self,
        ring: Ring,
        client: nc.NodeClient,
        fan: Fanout,
        accounts: Accounts,
        seen: InfoCache[ContainerInfo],
    ) -> None:
        self.db = Database(CONTAINER, ring, client, fan)
        self.client = client
        self.accounts = accounts
        self.seen = seen

    async def put_container(
        self,
        account: str,
        container: str,
        *,
        user: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> bool:
        """Create (True) or update (False) a container; metadata is merged."""
        check_name("account", account, MAX_ACCOUNT_NAME)
        check_name("container", container, MAX_CONTAINER_NAME)
        await self.accounts.ensure(account)
        meta = stored.pack(user or {}, system or {})
        ts = Timestamp.now()

        async def put(dev: Any, slot: int, part: int, update: nc.AccountUpdate) -> bool:
            return await self.client.put_container(
                dev, part, account, container, timestamp=ts, metadata=meta, account_update=update
            )

        out = await self._with_account_update(account, container, put)
        self.db.judge(out)
        created = sum(1 for r in out.successes if r.value)
        return created * 2 > len(out.successes)

    async def delete_container(self, account: str, container: str) -> None:
        """Delete an empty container (ContainerNotEmpty, ContainerNotFound)."""
        check_name("container", container, MAX_CONTAINER_NAME)
        ts = Timestamp.now()

        async def delete(dev: Any, slot: int, part: int, update: nc.AccountUpdate) -> None:
            await self.client.delete_container(
                dev, part, account, container, timestamp=ts, account_update=update
            )

        out = await self._with_account_update(account, container, delete)
        try:
            self.db.judge(out)
        except errors.Conflict:
            raise errors.ContainerNotEmpty() from None

    async def _with_account_update(
        self, account: str, container: str, fn: Any
    ) -> Outcome[Any, Any]:
        """``fn`` on every container replica, each updating its own account replica."""
        part, nodes = self.db.place((account, container))
        apart, anodes = self.accounts.db.place((account,))

        async def one(dev: Any, slot: int) -> Any:
            return await fn(dev, slot, part, nc.AccountUpdate(anodes[slot % len(anodes)], apart))

        out = await self.db.fan.write(self.db.ring, part, nodes, one)
        self.forget(account, container)
        return out

    async def head_container(self, account: str, container: str) -> ContainerInfo:
        """Stats, metadata and ACLs (ContainerNotFound)."""
        check_name("container", container, MAX_CONTAINER_NAME)
        try:
            raw = await self.db.head((account, container))
        except nc.NotFound:
            self.forget(account, container)
            raise errors.ContainerNotFound() from None
        info = container_info(container, raw)
        self.seen.put((account, container), info)
        return info

    async def container_info(self, account: str, container: str) -> ContainerInfo | None:
        """The container's info, cached for a few seconds; None when it is missing."""
        hit = self.seen.get((account, container))
        if hit is not None:
            return hit
        try:
            return await self.head_container(account, container)
        except errors.ContainerNotFound:
            return None

    async def require(self, account: str, container: str) -> None:
        """ContainerNotFound unless the container exists (a cached answer will do)."""
        check_name("account", account, MAX_ACCOUNT_NAME)
        check_name("container", container, MAX_CONTAINER_NAME)
        if await self.container_info(account, container) is None:
            raise errors.ContainerNotFound()

    def forget(self, account: str, container: str) -> None:
        """Drop the cached info (after a change made here)."""
        self.seen.forget((account, container))

    async def post_container(
        self,
        account: str,
        container: str,
        *,
        user: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> None:
        """Merge metadata into the container's (an empty value removes a key)."""
        check_name("container", container, MAX_CONTAINER_NAME)
        meta = stored.pack(user or {}, system or {})
        out = await self.db.post((account, container), meta, Timestamp.now())
        self.forget(account, container)
        self.db.judge(out)

    async def list_objects(
        self, account: str, container: str, params: ListParams
    ) -> tuple[ContainerInfo, list[nc.ObjectRow | nc.SubdirRow]]:
        """A page of the container's objects (ContainerNotFound)."""
        check_name("container", container, MAX_CONTAINER_NAME)
        try:
            listing = await self.db.listing((account, container), params)
        except nc.NotFound:
            raise errors.ContainerNotFound() from None
        info = container_info(container, listing.info)
        self.seen.put((account, container), info)
        return info, list(listing)


def container_info(name: str, raw: nc.ContainerInfo) -> ContainerInfo:
    user, system = stored.unpack(raw.metadata)
    return ContainerInfo(
        name, raw.object_count, raw.bytes_used, raw.put_timestamp, user=user, system=system
    )
