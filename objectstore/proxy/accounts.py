"""Accounts: created on first use, read and listed through the twin database path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectstore import client as nc
from objectstore.proxy import errors, stored
from objectstore.proxy.databases import ACCOUNT, Database
from objectstore.proxy.fanout import Fanout
from objectstore.proxy.infocache import InfoCache
from objectstore.proxy.models import AccountInfo, ListParams
from objectstore.proxy.names import MAX_ACCOUNT_NAME, check_name
from objectstore.timestamp import Timestamp
from ring import Ring


class Accounts:
    """The account operations of the core; ``known`` remembers accounts that exist."""

    def __init__(
        self,
        ring: Ring,
        client: nc.NodeClient,
        fan: Fanout,
        known: InfoCache[bool],
        seen: InfoCache[AccountInfo] | None = None,
    ) -> None:
        self.db = Database(ACCOUNT, ring, client, fan)
        self.client = client
        self.known = known
        self.seen: InfoCache[AccountInfo] = seen if seen is not None else InfoCache(known.ttl)

    async def ensure(self, account: str) -> None:
        """Create the account record the first time a container is made in it."""
        if self.known.get(account):
            return
        info = await self.head_account(account)
        if not info.exists:
            await self._put(account, Timestamp.now(), None)
        self.known.put(account, True)

    async def _put(self, account: str, ts: Timestamp, meta: dict[str, str] | None) -> None:
        part, nodes = self.db.place((account,))

        async def put(dev: Any, slot: int) -> bool:
            return await self.client.put_account(dev, part, account, timestamp=ts, metadata=meta)

        self.db.judge(await self.db.fan.write(self.db.ring, part, nodes, put))

    async def head_account(self, account: str) -> AccountInfo:
        """Stats and metadata; ``exists=False`` (zeros) for an account never created."""
        check_name("account", account, MAX_ACCOUNT_NAME)
        try:
            info = await self.db.head((account,))
        except nc.NotFound:
            return AccountInfo(account, 0, 0, 0, exists=False)
        return account_info(account, info)

    async def account_info(self, account: str) -> AccountInfo:
        """The account's info, cached for a few seconds (Swift's get_account_info):
        for checks on every write (quotas) that may trust a recent answer."""
        hit = self.seen.get(account)
        if hit is None:
            hit = await self.head_account(account)
            self.seen.put(account, hit)
        return hit

    async def post_account(
        self,
        account: str,
        *,
        user: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> None:
        """Merge metadata (an empty value removes a key); creates the account if needed."""
        check_name("account", account, MAX_ACCOUNT_NAME)
        meta = stored.pack(user or {}, system or {})
        ts = Timestamp.now()
        try:
            self.db.judge(await self.db.post((account,), meta, ts))
        except errors.AccountNotFound:
            await self._put(account, ts, meta)
        self.known.put(account, True)
        self.seen.forget(account)

    async def list_containers(
        self, account: str, params: ListParams
    ) -> tuple[AccountInfo, list[nc.ContainerRow | nc.SubdirRow]]:
        """A page of the account's containers (empty for an account never created)."""
        check_name("account", account, MAX_ACCOUNT_NAME)
        try:
            listing = await self.db.listing((account,), params)
        except nc.NotFound:
            return AccountInfo(account, 0, 0, 0, exists=False), []
        return account_info(account, listing.info), list(listing)


def account_info(name: str, raw: nc.AccountInfo) -> AccountInfo:
    user, system = stored.unpack(raw.metadata)
    return AccountInfo(
        name,
        raw.container_count,
        raw.object_count,
        raw.bytes_used,
        raw.put_timestamp,
        user=user,
        system=system,
    )
