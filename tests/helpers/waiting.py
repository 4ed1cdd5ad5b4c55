"""Bounded polling for state Stratus makes true eventually (container stats, replication)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], accept: Callable[[T], bool], timeout: float = 10.0) -> T:
    """Call probe until accept(result) holds or timeout passes; return the last result.

    Container byte counts reach account listings by an async update, as in Swift; a test
    that reads them right after a write must wait, but never without bound.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if accept(result) or time.monotonic() >= deadline:
            return result
        time.sleep(0.1)
