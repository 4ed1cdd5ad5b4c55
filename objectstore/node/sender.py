"""Coalescing node-to-node updates: group commit over HTTP.

Object nodes send container rows and container nodes send account rows.
Per target (ip, port, device) at most one request is in flight; rows that
arrive meanwhile ride together in the next one, so 64 concurrent PUTs into
one container cost a handful of requests (and of commits on the container
node), not 64.

A target whose last request failed to connect or timed out is *unreachable*
for ``hold`` seconds: requests' own sends to it (``inline=True``) fail at
once instead of each waiting out a timeout; their rows are durably queued
already, and the background passes (which still send, and clear the mark on
success) deliver them. Without it a host whose link is cut made every PUT
whose container replica it held wait out a timeout (Swift's object server
bounds the same wait with ``container_update_timeout``).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from objectstore.common.values import NodeClientError

R = TypeVar("R")
MAX_BATCH = 512


@dataclass(frozen=True, slots=True)
class Target:
    """A device on another node (duck-types as ``ring.Device`` for the client)."""

    ip: str
    port: int
    device: str


class _Queue(Generic[R]):
    __slots__ = ("items", "running")

    def __init__(self) -> None:
        self.items: list[tuple[R, asyncio.Future[int]]] = []
        self.running = False


class BatchSender(Generic[R]):
    """Send rows of type R to targets through ``send(target, rows) -> statuses``."""

    def __init__(
        self,
        send: Callable[[Target, list[R]], Awaitable[list[int]]],
        *,
        hold: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._queues: dict[Target, _Queue[R]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unreachable: dict[Target, float] = {}  # target -> until (clock)
        self.hold = hold
        self._clock = clock
        #: Requests made (for tests and stats).
        self.requests = 0
        #: Inline sends refused at once because their target was unreachable.
        self.skipped = 0

    def unreachable(self, target: Target) -> bool:
        """True while ``target``'s last request failed less than ``hold`` seconds ago."""
        until = self._unreachable.get(target)
        if until is None:
            return False
        if self._clock() >= until:
            del self._unreachable[target]
            return False
        return True

    async def send(self, target: Target, row: R, *, inline: bool = False) -> int:
        """The row's status on the target; NodeClientError if it could not be sent, at once
        for an ``inline`` send (a request's own) to a target that is unreachable for now."""
        if inline and self.unreachable(target):
            self.skipped += 1
            raise NodeClientError(f"{target.ip}:{target.port} unreachable for now")
        q = self._queues.get(target)
        if q is None:
            q = self._queues[target] = _Queue()
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        q.items.append((row, fut))
        if not q.running:
            q.running = True
            # A fresh context: a batch carries many requests' rows, not one's X-Trans-Id.
            task = asyncio.get_running_loop().create_task(
                self._drain(target, q), context=contextvars.Context()
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await fut

    async def _drain(self, target: Target, q: _Queue[R]) -> None:
        await asyncio.sleep(0)  # let rows of the same loop turn join
        try:
            while q.items:
                batch = q.items[:MAX_BATCH]
                del q.items[:MAX_BATCH]
                self.requests += 1
                try:
                    statuses = await self._send(target, [row for row, _ in batch])
                except (NodeClientError, OSError) as exc:
                    self._unreachable[target] = self._clock() + self.hold
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                except BaseException as exc:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(
                                exc if isinstance(exc, Exception) else NodeClientError("cancelled")
                            )
                    raise
                self._unreachable.pop(target, None)
                for (_, fut), status in zip(batch, statuses, strict=True):
                    if not fut.done():
                        fut.set_result(status)
        finally:
            q.running = False
            if not q.items:
                self._queues.pop(target, None)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
