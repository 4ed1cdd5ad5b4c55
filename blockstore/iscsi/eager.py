"""Run a coroutine at once, on the caller's stack, and make a task only if it suspends.

A SCSI command served from the page cache never waits: as a task of its
own it would cost a task object and an extra turn of the event loop (one
more ``epoll_wait``) before it could even start. ``start_eagerly`` runs
it right away; if it does suspend (disk I/O in the pool, a CmdSN gap, a
full socket), the rest continues in an ordinary task. Python 3.12's eager
task factory does the same; this is its small equivalent for 3.11.

The eager part runs inside the caller's task, so the coroutine must not
rely on ``asyncio.current_task()`` (``asyncio.timeout`` does) before its
first suspension.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any


def start_eagerly(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
) -> asyncio.Task[None] | None:
    """Step ``coro`` until it first suspends; None if it finished, else the task running on."""
    try:
        pending = coro.send(None)
    except StopIteration:
        return None
    return loop.create_task(_finish(_Continuation(coro, pending)))


async def _finish(continuation: _Continuation) -> None:
    await continuation


class _Continuation:
    """An awaitable that hands a suspended coroutine's future to the task driving it."""

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine[Any, Any, None], pending: Any) -> None:
        self.coro = coro
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, None]:
        coro, value = self.coro, self.pending
        self.pending = None
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation included: the coroutine decides
                try:
                    value = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = coro.send(sent)
                except StopIteration:
                    return
