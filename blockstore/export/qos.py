"""QoS limits on a served LUN: token buckets for IOPS and bytes per second.

The built-in target has no QoS hook of its own, so :class:`ThrottledUnit`
wraps ``LogicalUnit.execute``: a READ or WRITE first takes its share from
every bucket that applies (total / read / write IOPS and bytes), and waits
for the largest deficit. A bucket holds one second of its rate as burst; a
command larger than that runs once the debt is paid, so nothing waits
forever. Other commands (INQUIRY, TEST UNIT READY...) are never held.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from blockstore.scsi import LogicalUnit, ScsiCommand, ScsiResult

READS = frozenset({0x08, 0x28, 0xA8, 0x88})
WRITES = frozenset({0x0A, 0x2A, 0xAA, 0x8A, 0x2E, 0xAE, 0x8E, 0x41, 0x93, 0x89, 0x8B})
KEYS = (
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
)


def io_kind(cdb: bytes) -> str | None:
    """ "read", "write" or None (not throttled) for a CDB."""
    if not cdb:
        return None
    if cdb[0] in READS:
        return "read"
    if cdb[0] in WRITES:
        return "write"
    return None


class TokenBucket:
    """``rate`` tokens per second, up to one second's worth banked."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a bucket's rate must be > 0")
        self.rate = float(rate)
        self.capacity = float(rate)
        self.tokens = float(rate)
        self._clock = clock
        self._at = clock()

    def take(self, n: float) -> float:
        """Take ``n`` tokens (going into debt if needed); seconds to wait for the debt."""
        t = self._clock()
        self.tokens = min(self.capacity, self.tokens + (t - self._at) * self.rate)
        self._at = t
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Limiter:
    """The buckets of one LUN, built from Cinder QoS keys (0 or absent: unlimited)."""

    def __init__(
        self,
        limits: Iterable[tuple[str, int]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = {k: int(v) for k, v in limits if k in KEYS and int(v) > 0}
        self._buckets = {k: TokenBucket(v, clock) for k, v in self.limits.items()}
        self._sleep = sleep

    def __bool__(self) -> bool:
        return bool(self._buckets)

    def delay(self, kind: str, nbytes: int) -> float:
        """Charge one command; the seconds it must wait."""
        wait = 0.0
        for key, bucket in self._buckets.items():
            scope, _, unit = key.partition("_")
            if scope not in ("total", kind):
                continue
            wait = max(wait, bucket.take(1 if unit == "iops_sec" else nbytes))
        return wait

    async def admit(self, kind: str, nbytes: int) -> None:
        wait = self.delay(kind, nbytes)
        if wait > 0:
            await self._sleep(wait)


class ThrottledUnit(LogicalUnit):
    """A LogicalUnit whose reads and writes pass through a :class:`Limiter` first."""

    limiter: Limiter | None = None
    #: The write-cache setting last applied from the export spec (None: never).
    applied_write_cache: bool | None = None

    async def execute(self, cmd: ScsiCommand) -> ScsiResult:
        limiter = self.limiter
        if limiter:
            kind = io_kind(cmd.cdb)
            if kind is not None:
                size = len(cmd.data_out) if cmd.data_out is not None else cmd.expected_length
                await limiter.admit(kind, size)
        return await super().execute(cmd)
