"""The ring builder: devices, weights and the replica table they are balanced into."""

from __future__ import annotations

import math
import os
import random
import time
from array import array
from collections.abc import Callable
from pathlib import Path

from ring import builderfile
from ring.builderfile import BuilderState
from ring.device import MAX_DEVICE_ID, Device, validate_device
from ring.errors import RingBuilderError, RingFileError
from ring.placement import NONE, Rebalancer
from ring.report import RebalanceReport, balance_of, device_counts, device_stats, dispersion_of
from ring.ringfile import RingData, atomic_write, read_ring_file, write_ring_file
from ring.targets import Topology

MAX_BUILDER_PART_POWER = 24
MAX_REPLICAS = 32


class RingBuilder:
    """Devices and the partition placement balanced over them.

    ``clock`` returns the time in seconds (``time.time`` by default); tests
    pass their own to step through ``min_part_hours`` without sleeping.
    """

    def __init__(
        self,
        part_power: int,
        replicas: int,
        min_part_hours: int = 1,
        overload: float = 0.0,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_int("part_power", part_power, 0, MAX_BUILDER_PART_POWER)
        _check_int("replicas", replicas, 1, MAX_REPLICAS)
        _check_int("min_part_hours", min_part_hours, 0, 2**31)
        _check_overload(overload)
        self.part_power = part_power
        self.replicas = replicas
        self.min_part_hours = min_part_hours
        self.overload = float(overload)
        self.clock = clock
        self.ring_version = 0
        self._devices: dict[int, Device] = {}
        self._next_id = 0
        self._removed: set[int] = set()
        self._dirty = False
        self._table: list[array] | None = None
        self._last_moved: array | None = None

    # -- shape -----------------------------------------------------------

    @property
    def partition_count(self) -> int:
        return 1 << self.part_power

    @property
    def devices(self) -> list[Device]:
        return [self._devices[i] for i in sorted(self._devices)]

    def get_device(self, dev_id: int) -> Device:
        try:
            return self._devices[dev_id]
        except KeyError:
            raise RingBuilderError(f"no device {dev_id!r} in the builder") from None

    @property
    def pending_changes(self) -> bool:
        """True when devices changed since the last rebalance."""
        return self._dirty

    @property
    def replica_table(self) -> list[array] | None:
        """Per replica, the device id of every partition (read-only; None before a rebalance)."""
        return self._table

    # -- devices ---------------------------------------------------------

    def add_device(
        self,
        *,
        region: int,
        zone: int,
        ip: str,
        port: int,
        device: str,
        weight: float,
        meta: str = "",
        id: int | None = None,
    ) -> int:
        """Add a device; returns its id. Ids are never reused before a rebalance."""
        if id is None:
            id = self._free_id()
        elif isinstance(id, int) and (id in self._devices or id in self._removed):
            raise RingBuilderError(f"device id {id} is already in use")
        dev = validate_device(Device(id, region, zone, ip, port, device, weight, meta))
        for other in self._devices.values():
            if (other.ip, other.port, other.device) == (dev.ip, dev.port, dev.device):
                raise RingBuilderError(
                    f"{dev.ip}:{dev.port}/{dev.device} is already device {other.id}"
                )
        self._devices[dev.id] = dev
        self._next_id = max(self._next_id, dev.id + 1)
        self._dirty = True
        return dev.id

    def _free_id(self) -> int:
        if self._next_id <= MAX_DEVICE_ID:
            return self._next_id
        taken = self._devices.keys() | self._removed
        if self._table is not None:
            for col in self._table:
                taken |= set(col)
        for i in range(MAX_DEVICE_ID + 1):
            if i not in taken:
                return i
        raise RingBuilderError("no device ids left")

    def remove_device(self, dev_id: int) -> None:
        """Take a device out; its replicas move at the next rebalance."""
        self.get_device(dev_id)
        del self._devices[dev_id]
        self._removed.add(dev_id)
        self._dirty = True

    def set_weight(self, dev_id: int, weight: float) -> None:
        dev = self.get_device(dev_id)
        new = validate_device(
            Device(dev.id, dev.region, dev.zone, dev.ip, dev.port, dev.device, weight, dev.meta)
        )
        if new != dev:
            self._devices[dev_id] = new
            self._dirty = True

    def pretend_min_part_hours_passed(self) -> None:
        """Forget when partitions last moved (Swift's command of the same name), so the next
        rebalance may move any of them: for an operator who knows replication is not behind."""
        if self._last_moved is not None:
            self._last_moved = array("I", [0]) * len(self._last_moved)

    # -- balancing -------------------------------------------------------

    def _topology(self) -> Topology:
        counts = device_counts(self._table) if self._table is not None else {}
        return Topology(self._devices.values(), self.partition_count, self.replicas, counts)

    def rebalance(self, seed: int | None = None, *, now: float | None = None) -> RebalanceReport:
        """Move as few replicas as needed to meet the targets; deterministic for a seed.

        ``now`` (seconds) overrides the clock for ``min_part_hours``.
        """
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        now_s = self.clock() if now is None else now
        topo = self._topology()
        P, R = self.partition_count, self.replicas
        if self._table is None or self._last_moved is None:
            self._table = [array("H", [NONE]) * P for _ in range(R)]
            self._last_moved = array("I", [0]) * P
        before = [array("H", col) for col in self._table]
        engine = Rebalancer(
            topo,
            self._table,
            self._last_moved,
            now_minute=max(0, int(now_s // 60)),
            min_part_hours=self.min_part_hours,
            rng=random.Random(seed),
            overload=self.overload,
        )
        held = engine.held()
        engine.run()
        moved, parts_moved = _diff(before, self._table)
        if moved or self._dirty:
            self.ring_version += 1
        self._removed.clear()
        self._dirty = False
        return self._report(topo, moved, parts_moved, seed, held)

    def report(self) -> RebalanceReport:
        """Balance and dispersion of the current placement (nothing moves)."""
        return self._report(self._topology(), 0, 0, None)

    def _report(
        self, topo: Topology, moved: int, parts_moved: int, seed: int | None, held: int = 0
    ) -> RebalanceReport:
        table = self._table or [array("H", [NONE]) * self.partition_count] * self.replicas
        stats = device_stats(topo, device_counts(table))
        dispersion, by_tier = dispersion_of(topo, table)
        return RebalanceReport(
            moved=moved,
            partitions_moved=parts_moved,
            balance=balance_of(stats),
            dispersion=dispersion,
            dispersion_by_tier=by_tier,
            devices=stats,
            ring_version=self.ring_version,
            seed=seed,
            held=held,
        )

    # -- checks ----------------------------------------------------------

    def validate(self) -> list[str]:
        """Structural problems of the builder's placement (empty when sound)."""
        if self._table is None:
            return ["the builder has never been rebalanced"]
        problems = []
        if self._dirty:
            problems.append("devices changed since the last rebalance; rebalance first")
        present = self._devices
        for r, col in enumerate(self._table):
            unknown = {d for d in set(col) if d not in present}
            if unknown:
                problems.append(f"replica {r} uses devices not in the builder: {sorted(unknown)}")
        doubled = sum(1 for row in zip(*self._table, strict=True) if len(set(row)) < len(row))
        if doubled:
            problems.append(f"{doubled} partitions have two replicas on one device")
        return problems

    def check_ring_file(self, path: str | os.PathLike[str]) -> list[str]:
        """Differences between a ring file and this builder (empty when they agree)."""
        try:
            data = read_ring_file(path)
        except RingFileError as exc:
            return [str(exc)]
        problems = []
        if (data.part_power, data.replicas) != (self.part_power, self.replicas):
            problems.append(
                f"ring file has part power {data.part_power} and {data.replicas} replicas, "
                f"builder {self.part_power} and {self.replicas}"
            )
            return problems
        if data.ring_version != self.ring_version:
            problems.append(
                f"ring file is version {data.ring_version}, builder {self.ring_version}"
            )
        if data.devices != self.devices:
            problems.append("ring file devices differ from the builder's")
        if self._table is None:
            problems.append("the builder has never been rebalanced")
            return problems
        ids = array("H", [d.id for d in data.devices])
        for r, (ours, theirs) in enumerate(zip(self._table, data.table, strict=True)):
            mapped = array("H", [ids[i] for i in theirs])
            if mapped != ours:
                differ = sum(1 for a, b in zip(ours, mapped, strict=True) if a != b)
                problems.append(f"replica {r}: {differ} partitions placed differently")
        return problems

    # -- files -----------------------------------------------------------

    def to_ring_data(self) -> RingData:
        problems = self.validate()
        if problems:
            raise RingBuilderError("cannot write a ring: " + "; ".join(problems))
        assert self._table is not None
        devices = self.devices
        index = {d.id: i for i, d in enumerate(devices)}
        if all(d.id == i for i, d in enumerate(devices)):
            table = [array("H", col) for col in self._table]
        else:
            lookup = [0] * (max(index) + 1)
            for dev_id, i in index.items():
                lookup[dev_id] = i
            table = [array("H", [lookup[d] for d in col]) for col in self._table]
        return RingData(self.part_power, self.replicas, devices, table, self.ring_version)

    def write_ring(self, path: str | os.PathLike[str]) -> None:
        """Write the ring file (atomically) that proxies and storage nodes load."""
        write_ring_file(path, self.to_ring_data())

    def save(self, path: str | os.PathLike[str]) -> None:
        state = BuilderState(
            part_power=self.part_power,
            replicas=self.replicas,
            min_part_hours=self.min_part_hours,
            overload=self.overload,
            devices=self.devices,
            next_id=self._next_id,
            removed=sorted(self._removed),
            ring_version=self.ring_version,
            dirty=self._dirty,
            table=self._table,
            last_moved=self._last_moved,
        )
        atomic_write(path, builderfile.encode(state))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time):
        try:
            blob = Path(path).read_bytes()
        except OSError as exc:
            raise RingFileError(
                f"cannot read builder file {os.fspath(path)}: {exc.strerror}"
            ) from exc
        state = builderfile.decode(blob, os.fspath(path))
        if state.part_power > MAX_BUILDER_PART_POWER or state.replicas > MAX_REPLICAS:
            raise RingFileError(f"{os.fspath(path)}: part power or replicas out of range")
        b = cls(state.part_power, state.replicas, state.min_part_hours, state.overload, clock=clock)
        b._devices = {d.id: d for d in state.devices}
        b._next_id = max([state.next_id, *(d.id + 1 for d in state.devices)])
        b._removed = set(state.removed)
        b.ring_version = state.ring_version
        b._dirty = state.dirty
        b._table, b._last_moved = state.table, state.last_moved
        return b


def _diff(before: list[array], after: list[array]) -> tuple[int, int]:
    moved = 0
    touched = bytearray(len(before[0]))
    for old, new in zip(before, after, strict=True):
        if old == new:
            continue
        for p, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                moved += 1
                touched[p] = 1
    return moved, sum(touched)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RingBuilderError(f"{name} must be an integer in [{low}, {high}], not {value!r}")


def _check_overload(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RingBuilderError(f"overload must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise RingBuilderError(f"overload must be >= 0, not {value!r}")
