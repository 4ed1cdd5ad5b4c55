"""Portals and portal groups: where the target listens and which tag a login sees.

A portal is one listening address. Portals sharing a tag form a portal
group (RFC 7143 section 4.4.1): a session's connections all come through
one group, the login answers its ``TargetPortalGroupTag``, and SendTargets
names a target by the portals of the groups it is reachable through. A
target may be limited to some groups (say a storage-network group and not
a management one); by default it is reachable through all of them.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field

MIN_TAG, MAX_TAG = 1, 65535


def check_tag(tag: int) -> int:
    """A valid portal group tag, or ValueError."""
    if isinstance(tag, bool) or not isinstance(tag, int) or not MIN_TAG <= tag <= MAX_TAG:
        raise ValueError(f"portal group tag must be {MIN_TAG}..{MAX_TAG}, not {tag!r}")
    return tag


def check_address(host: str, port: int) -> tuple[str, int]:
    """A listenable (host, port): an IP literal or DNS name ('' for any), a port 0..65535."""
    if len(host) > 253 or any(c in host for c in ",[] \t\r\n\0"):
        raise ValueError(f"portal host must be an IP address or a DNS name, not {host[:60]!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"portal port must be 0..65535, not {port!r}")
    return host, port


@dataclass(eq=False)
class Portal:
    """One listening address in a portal group."""

    host: str
    port: int  # the bound port once listening (so 0 becomes the real one)
    tag: int
    listener: asyncio.AbstractServer | None = field(default=None, repr=False)

    @property
    def wildcard(self) -> bool:
        return self.host in ("", "0.0.0.0", "::")

    def target_address(self, local: tuple | None) -> str:
        """The ``TargetAddress`` value; a wildcard portal is named by the connection's address."""
        host = self.host
        if self.wildcard and local:
            host = local[0]
        try:
            is_v6 = ipaddress.ip_address(host).version == 6
        except ValueError:
            is_v6 = False
        shown = f"[{host}]" if is_v6 else host
        return f"{shown}:{self.port},{self.tag}"

    def matches(self, host: str, port: int) -> bool:
        return self.host == host and self.port == port
