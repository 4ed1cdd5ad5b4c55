"""A shared/exclusive asyncio lock: many writes at once, or one COMPARE AND WRITE.

COMPARE AND WRITE must be atomic against every other write of its logical
unit; plain writes need not exclude each other. Waiting exclusive holders
block new shared holders, so a stream of writes cannot starve them.

Every write passes through here, so the uncontended path is a counter
bump with no await that suspends: no lock, no generator-based context
manager. Only a holder that must wait creates a future.
"""

from __future__ import annotations

import asyncio


class SharedExclusive:
    def __init__(self) -> None:
        self._shared = 0
        self._exclusive = False
        self._waiting_exclusive = 0
        self._waiters: list[asyncio.Future[None]] = []

    def shared(self) -> _Shared:
        """``async with gate.shared():`` held with other shared holders."""
        return _Shared(self)

    def exclusive(self) -> _Exclusive:
        """``async with gate.exclusive():`` held alone."""
        return _Exclusive(self)

    async def _wait(self) -> None:
        """Sleep until the next release; callers re-check their condition."""
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _acquire_shared(self) -> None:
        while self._exclusive or self._waiting_exclusive:
            await self._wait()
        self._shared += 1

    def _release_shared(self) -> None:
        self._shared -= 1
        if not self._shared and self._waiters:
            self._wake_all()

    async def _acquire_exclusive(self) -> None:
        self._waiting_exclusive += 1
        try:
            while self._exclusive or self._shared:
                await self._wait()
        except BaseException:
            self._waiting_exclusive -= 1
            self._wake_all()  # shared holders queued behind us may go now
            raise
        self._waiting_exclusive -= 1
        self._exclusive = True

    def _release_exclusive(self) -> None:
        self._exclusive = False
        self._wake_all()


class _Shared:
    __slots__ = ("gate",)

    def __init__(self, gate: SharedExclusive) -> None:
        self.gate = gate

    async def __aenter__(self) -> None:
        gate = self.gate
        if gate._exclusive or gate._waiting_exclusive:
            await gate._acquire_shared()
        else:
            gate._shared += 1

    async def __aexit__(self, *exc_info: object) -> None:
        self.gate._release_shared()


class _Exclusive:
    __slots__ = ("gate",)

    def __init__(self, gate: SharedExclusive) -> None:
        self.gate = gate

    async def __aenter__(self) -> None:
        await self.gate._acquire_exclusive()

    async def __aexit__(self, *exc_info: object) -> None:
        self.gate._release_exclusive()
