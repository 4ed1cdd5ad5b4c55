"""Ring lookup: the partition of a path, its primary devices and its handoffs.

A ``Ring`` is what proxies and storage nodes hold. It reloads itself when the
file on disk is replaced (checked at most every ``reload_interval`` seconds),
so pushing a new ring file is how a cluster learns of a rebalance.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import xxhash

from ring.device import Device
from ring.errors import RingFileError
from ring.hashing import hash_path, part_of
from ring.ringfile import RingData, read_ring_file

_PART_KEY = struct.Struct("<Q")


@dataclass(frozen=True)
class _Loaded:
    """One immutable generation of the ring; swapped whole on reload."""

    data: RingData
    devices: list[Device]
    # table[r][part] is an index into devices
    stamp: tuple[int, int, int]
    weighted_set: frozenset[int]
    # weighted regions, zones, nodes
    domains: tuple[frozenset[tuple], frozenset[tuple], frozenset[tuple]]


class Ring:
    """Read-only placement answers from a ring file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        hash_path_prefix: str = "",
        hash_path_suffix: str = "",
        reload_interval: float = 15.0,
    ) -> None:
        self.path = os.fspath(path)
        self.hash_path_prefix = hash_path_prefix
        self.hash_path_suffix = hash_path_suffix
        self.reload_interval = reload_interval
        self._lock = threading.Lock()
        self._state = self._load()
        self._next_check = time.monotonic() + reload_interval

    # -- loading ---------------------------------------------------------

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise RingFileError(f"cannot stat ring file {self.path}: {exc.strerror}") from exc
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load(self) -> _Loaded:
        stamp = self._stat()
        data = read_ring_file(self.path)
        devices = list(data.devices)
        weighted = frozenset(i for i, d in enumerate(devices) if d.weight > 0)
        tiers = [_tiers(devices[i]) for i in weighted]
        regions, zones, nodes = (frozenset(t[level] for t in tiers) for level in range(3))
        return _Loaded(data, devices, stamp, weighted, (regions, zones, nodes))

    def _current(self) -> _Loaded:
        """The ring to answer from, reloading first when the file changed."""
        now = time.monotonic()
        if now >= self._next_check:
            with self._lock:
                if now >= self._next_check:
                    self._next_check = now + self.reload_interval
                    self._maybe_reload()
        return self._state

    def _maybe_reload(self) -> None:
        try:
            if self._stat() != self._state.stamp:
                self._state = self._load()
        except RingFileError:
            # Keep answering from the last good ring; a broken push must not stop
            # the cluster. The next check tries again.
            pass

    def reload(self) -> None:
        """Load the file now (RingFileError if it is not a good ring)."""
        with self._lock:
            self._state = self._load()
            self._next_check = time.monotonic() + self.reload_interval

    # -- shape -----------------------------------------------------------

    @property
    def part_power(self) -> int:
        return self._current().data.part_power

    @property
    def partition_count(self) -> int:
        return self._current().data.partition_count

    @property
    def replica_count(self) -> int:
        return self._current().data.replicas

    @property
    def ring_version(self) -> int:
        return self._current().data.ring_version

    @property
    def checksum(self) -> str:
        """The loaded file's checksum (16 hex digits): tells two rings of one version apart."""
        return self._current().data.checksum

    @property
    def devices(self) -> list[Device]:
        return list(self._current().devices)

    # -- placement -------------------------------------------------------

    def get_part(self, account: str, container: str | None = None, obj: str | None = None) -> int:
        digest = hash_path(
            account, container, obj, prefix=self.hash_path_prefix, suffix=self.hash_path_suffix
        )
        return part_of(digest, self._current().data.part_power)

    def get_nodes(
        self, account: str, container: str | None = None, obj: str | None = None
    ) -> tuple[int, list[Device]]:
        """The partition of a path and its primary devices, in replica order."""
        state = self._current()
        digest = hash_path(
            account, container, obj, prefix=self.hash_path_prefix, suffix=self.hash_path_suffix
        )
        part = part_of(digest, state.data.part_power)
        devs = state.devices
        return part, [devs[col[part]] for col in state.data.table]

    def get_part_nodes(self, part: int) -> list[Device]:
        state = self._current()
        self._check_part(state, part)
        devs = state.devices
        return [devs[col[part]] for col in state.data.table]

    def get_more_nodes(self, part: int) -> Iterator[Device]:
        """Handoff devices for ``part``, best first; never a primary, never twice.

        The order is stable for a given ring: a fixed pseudo-random walk over
        the other partitions' replicas, so devices come up about in proportion
        to their weight. Devices in a region the partition does not use yet
        come first, then new zones, then new nodes, then the rest. Devices of
        weight zero (being drained) are never offered.
        """
        state = self._current()
        self._check_part(state, part)
        return _handoffs(state, part)

    @staticmethod
    def _check_part(state: _Loaded, part: int) -> None:
        if isinstance(part, bool) or not isinstance(part, int):
            raise TypeError(f"partition must be an int, not {type(part).__name__}")
        if not 0 <= part < state.data.partition_count:
            raise ValueError(f"partition {part} is out of range")


def _tiers(dev: Device) -> tuple[tuple, tuple, tuple]:
    return (dev.region,), (dev.region, dev.zone), (dev.region, dev.zone, dev.ip)


def _walk(state: _Loaded, part: int) -> Iterator[int]:
    """Device indexes along a stable pseudo-random walk over the other partitions.

    The partition sequence part + k * stride (odd stride, so it visits every
    partition of the power-of-two ring) is fixed by the partition alone, and
    devices turn up about in proportion to the replicas they hold.
    """
    data = state.data
    parts = data.partition_count
    stride = (xxhash.xxh3_64_intdigest(_PART_KEY.pack(part)) | 1) % parts or 1
    table = data.table
    for k in range(1, parts):
        q = (part + k * stride) % parts
        for col in table:
            yield col[q]


def _handoffs(state: _Loaded, part: int) -> Iterator[Device]:
    devs = state.devices
    primaries = {col[part] for col in state.data.table}
    # weighted devices and failure domains not offered yet
    left = set(state.weighted_set) - primaries
    fresh = [set(state.domains[level]) for level in range(3)]
    for i in primaries:
        for level, key in enumerate(_tiers(devs[i])):
            fresh[level].discard(key)
    for level in range(3):
        if not fresh[level]:
            continue
        for i in _walk(state, part):
            if i in left and _tiers(devs[i])[level] in fresh[level]:
                left.discard(i)
                for lv, key in enumerate(_tiers(devs[i])):
                    fresh[lv].discard(key)
                yield devs[i]
                if not fresh[level]:
                    break
    if left:
        for i in _walk(state, part):
            if i in left:
                left.discard(i)
                yield devs[i]
                if not left:
                    break
    # weighted devices the table never names (too small a weight for any partition)
    for i in sorted(left):
        yield devs[i]
