"""Background workers of a node: a pass loop with state, pacing and a stop signal.

The replicators, the auditor and the expirer share one shape: a
:class:`Worker` runs ``run_pass()`` every ``interval`` seconds, or at once
when :meth:`Worker.trigger` asks (``stratus node replicate --once``), and
keeps what operators need to see (passes, last start/end, last error,
lag). A :class:`Pacer` keeps a worker under its byte or item budget per
second, so background work never starves the requests it protects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

log = logging.getLogger(__name__)


class Pacer:
    """A token bucket: ``await spend(n)`` returns once ``n`` units fit in ``rate``/s.

    ``rate`` <= 0 means unlimited. The bucket holds at most one second of
    budget, so an idle worker cannot save up a burst.
    """

    def __init__(self, rate: float, *, clock: Any = time.monotonic) -> None:
        self.rate = float(rate)
        self._clock = clock
        self._tokens = self.rate
        self._last = clock()
        #: Seconds spent waiting for budget (for stats and tests).
        self.waited = 0.0

    def delay_for(self, n: float) -> float:
        """Take ``n`` units; return how long to sleep to honour the rate."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= n
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate

    async def spend(self, n: float) -> None:
        delay = self.delay_for(n)
        if delay > 0:
            self.waited += delay
            await asyncio.sleep(delay)


class Worker:
    """One background job of a node. Subclasses implement :meth:`run_pass`."""

    name = "worker"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.passes = 0
        self.failures = 0
        self.last_start = 0.0  # unix seconds
        self.last_end = 0.0
        self.last_duration = 0.0
        self.last_error = ""
        self.last_result: dict[str, Any] = {}
        self.running = False
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._done: asyncio.Condition | None = None
        self._completed = 0  # passes finished (success or failure)

    async def run_pass(self) -> dict[str, Any]:
        """Do one whole pass; return counters describing it."""
        raise NotImplementedError

    @property
    def lag(self) -> float | None:
        """Seconds since the start of the last finished pass (None: never finished one)."""
        if not self.last_end:
            return None
        return max(0.0, time.time() - self.last_start)

    def status(self) -> dict[str, Any]:
        return {
            "passes": self.passes,
            "failures": self.failures,
            "running": self.running,
            "last_start": self.last_start,
            "last_end": self.last_end,
            "last_duration": round(self.last_duration, 3),
            "lag": None if self.lag is None else round(self.lag, 3),
            "last_error": self.last_error,
            "last": self.last_result,
        }

    async def _one(self) -> None:
        self.running = True
        start = time.time()
        self.last_start = start
        try:
            result = await self.run_pass()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            self.last_error = repr(exc)
            log.exception("%s pass failed", self.name)
        else:
            self.passes += 1
            self.last_error = ""
            self.last_result = result
            self.last_end = time.time()
            self.last_duration = self.last_end - start
            self.after_pass(result, self.last_duration)
        finally:
            self.running = False
            self._completed += 1
            cond = self._condition()
            async with cond:
                cond.notify_all()

    def after_pass(self, result: dict[str, Any], seconds: float) -> None:
        """Hook for metrics (called after each successful pass)."""

    def _condition(self) -> asyncio.Condition:
        if self._done is None:
            self._done = asyncio.Condition()
        return self._done

    async def run(self) -> None:
        """Loop until :meth:`stop`: a pass every ``interval`` s, or when triggered."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can lose a cancel
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            if self._stopping.is_set():
                break
            self._wake.clear()
            await self._one()

    async def trigger(self, timeout: float | None = None) -> dict[str, Any]:
        """Ask for a pass that starts after this call and wait for it to finish.

        Works whether or not :meth:`run` is looping (without the loop the
        pass runs here, in the caller's task).
        """
        cond = self._condition()
        # A pass already running started before this call: wait for the one after it.
        target = self._completed + (2 if self.running else 1)
        if not self._looping:
            while self._completed < target - 1:  # let a running pass end first
                async with cond:
                    await cond.wait()
            await self._one()
            return self.status()
        self._wake.set()

        async def wait() -> None:
            async with cond:
                await cond.wait_for(lambda: self._completed >= target)

        await asyncio.wait_for(wait(), timeout)
        return self.status()

    _looping = False

    def start(self) -> asyncio.Task[None]:
        """Run the loop as a task of the current event loop."""
        self._looping = True
        return asyncio.get_running_loop().create_task(self.run(), name=self.name)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
