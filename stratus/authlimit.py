"""A limit on failed authentications per client address (a token bucket each).

Every client address starts with ``burst`` tokens and earns ``per_minute``
back each minute, up to ``burst``. An authentication that fails costs one
token; with none left, the address is refused before any key is checked
until a token comes back (:meth:`FailureLimiter.retry_after` says when).
A check is paid for before it runs (:meth:`charge`) and refunded when it
succeeds (:meth:`refund`), so a burst of concurrent guesses from one
address cannot all slip past the limit while the slow checks run.

Memory is bounded: at most ``max_clients`` addresses are tracked, the least
recently charged forgotten first (an address that has earned all its
tokens back carries no state worth keeping). IPv6 clients are counted per
/64, the block one customer usually holds, so rotating through it does not
buy fresh tokens.

Only failures are limited: a client that keeps its keys right is never
slowed down (unless it has more than ``burst`` logins in flight at once,
each paid for until it succeeds). Behind a reverse proxy every client has the proxy's address;
run the limit where clients connect directly.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from stratus.config import Config


@dataclass(frozen=True)
class AuthLimits:
    """How many failures an address may make, how fast it earns them back, how many are tracked."""

    burst: int = 10
    per_minute: float = 6.0
    max_clients: int = 65536

    @property
    def enabled(self) -> bool:
        return self.burst > 0

    @classmethod
    def from_config(cls, cfg: Config) -> AuthLimits:
        """The ``identity.failed_auth_*`` options of a :class:`stratus.config.Config`."""
        ident = cfg.identity
        return cls(
            burst=ident.failed_auth_burst,
            per_minute=ident.failed_auth_per_minute,
            max_clients=ident.failed_auth_max_clients,
        )


def client_key(address: str | None) -> str:
    """The bucket an address falls in: the address itself, or its /64 for IPv6."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


class FailureLimiter:
    """Failed-authentication buckets per client address (not thread-safe: one event loop)."""

    def __init__(self, limits: AuthLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limits.burst < 0 or limits.per_minute <= 0 or limits.max_clients < 1:
            raise ValueError("burst must be >= 0, per_minute > 0 and max_clients >= 1")
        self.limits = limits
        self.clock = clock
        self._rate = limits.per_minute / 60.0
        # address -> (tokens, when they were counted); oldest first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        hit = self._buckets.get(key)
        if hit is None:
            return float(self.limits.burst)
        tokens, then = hit
        return min(float(self.limits.burst), tokens + (now - then) * self._rate)

    def retry_after(self, address: str | None) -> float:
        """Seconds until ``address`` may try again (0: it may now)."""
        if not self.limits.enabled:
            return 0.0
        tokens = self._tokens(client_key(address), self.clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def charge(self, address: str | None) -> float:
        """Pay one token for a check about to run; else the seconds to wait (nothing paid)."""
        if not self.limits.enabled:
            return 0.0
        key, now = client_key(address), self.clock()
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            return (1.0 - tokens) / self._rate
        self._buckets[key] = (tokens - 1.0, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.limits.max_clients:
            self._buckets.popitem(last=False)
        return 0.0

    def refund(self, address: str | None) -> None:
        """Give back the token of a check that succeeded."""
        if not self.limits.enabled:
            return
        key, now = client_key(address), self.clock()
        if key not in self._buckets:
            return
        tokens = self._tokens(key, now) + 1.0
        if tokens >= self.limits.burst:
            del self._buckets[key]  # full again: nothing to remember
        else:
            self._buckets[key] = (tokens, now)


def retry_after_header(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
