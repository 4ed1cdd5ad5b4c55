"""Accounts and containers, the twin databases: one call path for both.

An account and a container are the same kind of thing to the proxy: a
small database on its own ring, read from the first replica that has it,
updated (POST) on a quorum, listed page by page. :class:`Twin` holds the
little that differs (the node calls, the error for a missing one, whether a
listing takes Swift's ``path``); :class:`Database` is the one path that
heads, posts and lists either, so a fix to one is a fix to both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from objectstore import client as nc
from objectstore.proxy import errors
from objectstore.proxy.fanout import Fanout, judge
from objectstore.proxy.models import ListParams
from objectstore.proxy.placement import Outcome
from objectstore.timestamp import Timestamp
from ring import Ring

Call = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Twin:
    """What tells the account and the container database apart."""

    kind: str
    missing: type[errors.NotFound]
    head: Callable[[nc.NodeClient], Call]
    post: Callable[[nc.NodeClient], Call]
    listing: Callable[[nc.NodeClient], Call]
    paths: bool  # listings take Swift's ?path=


ACCOUNT = Twin(
    "account",
    errors.AccountNotFound,
    head=lambda c: c.head_account,
    post=lambda c: c.post_account,
    listing=lambda c: c.list_containers,
    paths=False,
)
CONTAINER = Twin(
    "container",
    errors.ContainerNotFound,
    head=lambda c: c.head_container,
    post=lambda c: c.post_container,
    listing=lambda c: c.list_objects,
    paths=True,
)


class Database:
    """One twin over its ring: ``path`` is ``(account,)`` or ``(account, container)``."""

    def __init__(self, twin: Twin, ring: Ring, client: nc.NodeClient, fan: Fanout) -> None:
        self.twin = twin
        self.ring = ring
        self.client = client
        self.fan = fan

    def place(self, path: tuple[str, ...]) -> tuple[int, list[Any]]:
        """The partition and primaries of the database at ``path``."""
        return self.ring.get_nodes(*path)

    async def head(self, path: tuple[str, ...]) -> Any:
        """The raw info from the first replica that has it (nc.NotFound when none has)."""
        part, nodes = self.place(path)
        head = self.twin.head(self.client)
        return await self.fan.first(self.ring, part, nodes, lambda dev: head(dev, part, *path))

    async def post(
        self, path: tuple[str, ...], metadata: dict[str, str], ts: Timestamp
    ) -> Outcome[Any, Any]:
        """Merge ``metadata`` on every replica at once (judge the outcome)."""
        part, nodes = self.place(path)
        post = self.twin.post(self.client)

        async def one(dev: Any, slot: int) -> None:
            await post(dev, part, *path, timestamp=ts, metadata=metadata)

        return await self.fan.write(self.ring, part, nodes, one)

    async def listing(self, path: tuple[str, ...], params: ListParams) -> Any:
        """A page of rows with the database's info (nc.NotFound when none has it)."""
        part, nodes = self.place(path)
        ask = self.twin.listing(self.client)
        query: dict[str, Any] = {
            "prefix": params.prefix,
            "marker": params.marker,
            "end_marker": params.end_marker,
            "limit": params.limit,
            "delimiter": params.delimiter,
            "reverse": params.reverse,
        }
        if self.twin.paths:
            query["path"] = params.path
        return await self.fan.first(
            self.ring, part, nodes, lambda dev: ask(dev, part, *path, **query)
        )

    def judge(self, out: Outcome[Any, Any]) -> None:
        """Raise unless a quorum succeeded (this twin's NotFound for a missing one)."""
        judge(out, self.twin.missing)
