"""Error limiting: stop sending requests to a storage node that keeps failing.

One limiter per process, shared by the proxy and the replicator, so a node
that times out for one of them is skipped by both. A node that collects
``limit`` errors (each less than ``interval`` seconds after the previous one)
is skipped until ``interval`` seconds have passed since its last error; then
its count starts again from zero. A node that reports a full or unmounted
device (507) is limited at once, as Swift does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from stratus.config import Config

log = logging.getLogger(__name__)


def node_key(node: Any) -> Hashable:
    """The identity of a device for error counting: ``(ip, port, device)``."""
    return (node.ip, node.port, node.device)


@dataclass
class _Stats:
    errors: int = 0
    last_error: float = 0.0


class ErrorLimiter:
    """Counts errors per device and says which devices to skip for now."""

    def __init__(
        self,
        limit: int,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        key: Callable[[Any], Hashable] = node_key,
    ) -> None:
        if limit < 1:
            raise ValueError("error limit must be >= 1")
        self.limit = limit
        self.interval = interval
        self._clock = clock
        self._key = key
        self._stats: dict[Hashable, _Stats] = {}

    @classmethod
    def from_config(cls, config: Config) -> ErrorLimiter:
        """Build the limiter from ``config.proxy`` (error_limit, error_suppression_interval)."""
        return cls(config.proxy.error_limit, config.proxy.error_suppression_interval)

    def is_limited(self, node: Any) -> bool:
        """True while ``node`` should be skipped."""
        stats = self._stats.get(self._key(node))
        if stats is None:
            return False
        if self._clock() - stats.last_error > self.interval:
            del self._stats[self._key(node)]
            return False
        return stats.errors >= self.limit

    def record_error(self, node: Any, why: str = "") -> None:
        """Count one failure of ``node`` (timeout, refused connection, 5xx)."""
        now = self._clock()
        key = self._key(node)
        stats = self._stats.get(key)
        if stats is None or now - stats.last_error > self.interval:
            stats = self._stats[key] = _Stats()
        stats.errors += 1
        stats.last_error = now
        if stats.errors == self.limit:
            log.warning("error limiting %s for %.0fs (%s)", _show(node), self.interval, why)

    def limit_now(self, node: Any, why: str = "") -> None:
        """Skip ``node`` for a full interval at once (e.g. its device is full)."""
        stats = self._stats.setdefault(self._key(node), _Stats())
        stats.errors = max(stats.errors, self.limit)
        stats.last_error = self._clock()
        log.warning("error limiting %s for %.0fs (%s)", _show(node), self.interval, why)

    def clear(self, node: Any) -> None:
        """Forget the errors of ``node`` (an operator or a probe saw it healthy)."""
        self._stats.pop(self._key(node), None)

    def errors(self, node: Any) -> int:
        """Errors counted for ``node`` in the current window (for tests and status)."""
        stats = self._stats.get(self._key(node))
        return stats.errors if stats else 0


def _show(node: Any) -> str:
    return f"{node.ip}:{node.port}/{node.device}"
