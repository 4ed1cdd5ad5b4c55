"""The rings as a storage node sees them: where its partitions belong, and who it is.

The background workers need the rings (the request handlers never do): a
replicator asks which devices are a partition's primaries, and whether
its own device is one of them. Rings reload themselves when their file
is replaced, so a rebalance reaches the workers within
``reload_interval`` seconds (and at the start of every pass).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
from collections.abc import Iterator
from typing import Any

from ring import Ring, RingError

log = logging.getLogger(__name__)

RING_KINDS = {"o": "object", "c": "container", "a": "account"}
_WILDCARDS = ("", "0.0.0.0", "::")


class NodeRings:
    """The three rings plus this node's address, to tell its own devices apart."""

    def __init__(
        self,
        ring_dir: str,
        *,
        ip: str,
        port: int,
        devices: list[str],
        reload_interval: float = 2.0,
    ) -> None:
        self.ring_dir = ring_dir
        self.ip = ip
        self.port = port
        self.devices = set(devices)
        self.reload_interval = reload_interval
        self._rings: dict[str, Ring] = {}
        self._stamps: dict[str, tuple[int, int, int]] = {}

    def ring(self, kind: str) -> Ring | None:
        """The ring for ``o``, ``c`` or ``a``; None while its file is missing or bad."""
        ring = self._rings.get(kind)
        if ring is None:
            path = os.path.join(self.ring_dir, f"{RING_KINDS[kind]}.ring")
            try:
                self._stamps[kind] = _stamp(path)
                ring = Ring(path, reload_interval=self.reload_interval)
            except (RingError, OSError) as exc:
                log.debug("no %s ring yet: %s", RING_KINDS[kind], exc)
                return None
            self._rings[kind] = ring
        return ring

    def versions(self) -> dict[str, int | None]:
        """The version of each ring this node serves with (None: no readable ring file)."""
        return {name: None if r is None else r.ring_version for name, r in self._by_name()}

    def checksums(self) -> dict[str, str | None]:
        """The checksum of each ring this node serves with (tells rings of one version apart)."""
        return {name: None if r is None else r.checksum for name, r in self._by_name()}

    def _by_name(self) -> list[tuple[str, Ring | None]]:
        return [(name, self.ring(kind)) for kind, name in RING_KINDS.items()]

    def refresh(self, kind: str) -> Ring | None:
        """The ring, reloaded now if its file changed (start of a pass)."""
        ring = self.ring(kind)
        if ring is None:
            return None
        with contextlib.suppress(RingError, OSError):
            stamp = _stamp(ring.path)
            if self._stamps.get(kind) != stamp:
                ring.reload()
                self._stamps[kind] = stamp
        return ring

    def is_me(self, dev: Any, device: str) -> bool:
        """Is ring device ``dev`` this node's device named ``device``?"""
        if dev.port != self.port or dev.device != device:
            return False
        return self.ip in _WILDCARDS or _same_ip(dev.ip, self.ip)

    def my_index(self, nodes: list[Any], device: str) -> int | None:
        """This device's replica index among a partition's primaries (None: a handoff)."""
        for i, dev in enumerate(nodes):
            if self.is_me(dev, device):
                return i
        return None

    def handoffs(self, ring: Ring, part: int, device: str) -> Iterator[Any]:
        """Handoff devices of ``part`` other than this one."""
        for dev in ring.get_more_nodes(part):
            if not self.is_me(dev, device):
                yield dev


def _stamp(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()
