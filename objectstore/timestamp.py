"""Swift-style timestamps: the one clock that orders writes.

The proxy stamps every write; storage nodes keep whichever version carries
the newest stamp (last writer wins). A timestamp is held as an integer
number of 10-microsecond ticks so that comparison is exact; its normal form
is Swift's ``"%016.5f"`` (e.g. ``"1700000000.12345"``), which sorts as a
string in the same order as the numbers. Swift's ``_offset`` suffix is not
supported (nothing here needs two writes at the same instant).
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any

TICKS_PER_SECOND = 100_000
_MAX_TICKS = 10**15  # "9999999999.99999": the largest value with ten integer digits
_offset_ticks = 0  # a test's clock skew for this process (set_test_clock_offset)


def set_test_clock_offset(seconds: float) -> None:
    """Run this process's clock ``seconds`` ahead for every timestamp it makes and every
    expiry it judges: the clock-skew probes' knob (``proxy.test_clock_offset``, refused
    outside tests by the configuration)."""
    global _offset_ticks
    _offset_ticks = round(seconds * TICKS_PER_SECOND)


def wall_clock() -> float:
    """Seconds since the epoch on this process's clock (the test offset included)."""
    return time.time() + _offset_ticks / TICKS_PER_SECOND


class Timestamp:
    """An instant, exact to 10 µs, ordered and hashable."""

    __slots__ = ("ticks",)

    def __init__(self, value: float | str | Timestamp) -> None:
        if isinstance(value, Timestamp):
            ticks = value.ticks
        elif isinstance(value, str):
            ticks = _parse(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            ticks = round(float(value) * TICKS_PER_SECOND)
        else:
            raise TypeError(f"cannot make a Timestamp from {type(value).__name__}")
        if not 0 <= ticks < _MAX_TICKS:
            raise ValueError(f"timestamp out of range: {value!r}")
        self.ticks = ticks

    @classmethod
    def from_ticks(cls, ticks: int) -> Timestamp:
        """Rebuild a timestamp from its stored integer form."""
        ts = cls.__new__(cls)
        if not 0 <= ticks < _MAX_TICKS:
            raise ValueError(f"timestamp out of range: {ticks!r} ticks")
        ts.ticks = ticks
        return ts

    @classmethod
    def now(cls) -> Timestamp:
        return cls.from_ticks(time.time_ns() // 10_000 + _offset_ticks)

    @property
    def normal(self) -> str:
        """Swift's normal form, ``%016.5f``: fixed width, sorts like the number."""
        whole, frac = divmod(self.ticks, TICKS_PER_SECOND)
        return f"{whole:010d}.{frac:05d}"

    @property
    def seconds(self) -> float:
        return self.ticks / TICKS_PER_SECOND

    @property
    def isoformat(self) -> str:
        """``YYYY-MM-DDTHH:MM:SS.ffffff`` in UTC, the form of Swift's listings."""
        whole, frac = divmod(self.ticks, TICKS_PER_SECOND)
        base = _dt.datetime.fromtimestamp(whole, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{base}.{frac * 10:06d}"

    def __float__(self) -> float:
        return self.seconds

    def __str__(self) -> str:
        return self.normal

    def __repr__(self) -> str:
        return f"Timestamp({self.normal!r})"

    def __hash__(self) -> int:
        return hash(self.ticks)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Timestamp):
            return self.ticks == other.ticks
        return NotImplemented

    def __lt__(self, other: Timestamp) -> bool:
        return self.ticks < other.ticks

    def __le__(self, other: Timestamp) -> bool:
        return self.ticks <= other.ticks

    def __gt__(self, other: Timestamp) -> bool:
        return self.ticks > other.ticks

    def __ge__(self, other: Timestamp) -> bool:
        return self.ticks >= other.ticks


def _parse(text: str) -> int:
    """Parse ``"1700000000.12345"`` (or fewer decimals) without float rounding."""
    text = text.strip()
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 5:
        # Accept plain floats such as "1.5e9" only through float().
        try:
            return round(float(text) * TICKS_PER_SECOND)
        except (ValueError, OverflowError):
            raise ValueError(f"not a timestamp: {text!r}") from None
    return int(whole) * TICKS_PER_SECOND + int((frac or "0").ljust(5, "0"))
