"""Where a volume lives when the API has several backends: the scheduler and the pool seam.

As Cinder's filter scheduler: a volume type naming ``volume_backend_name`` in its extra
specs keeps only the backends of that name; backends that are down or lack the capacity
(thin: provisioned GiB against capacity x over-subscription ratio, as
``quotas.check_capacity``; thick: real free space) drop out; the one with the most free
capacity wins (the capacity weigher). Snapshots and clones stay on their source's backend.
A backend is named as Cinder does, ``host@backend#pool`` (one pool per backend here).

The pool itself (``blockstore.pool``: the clients of the backend processes) is reached
through the :class:`Pool` protocol, so the manager never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from blockstore.backend import BackendStats
from blockstore.export.base import ExportSpec
from blockstore.manager.quotas import CapacityRules
from blockstore.manager.records import Snapshot, Volume, VolumeType
from blockstore.manager.store import Txn

GiB = 1024**3
NO_VALID_BACKEND = "No valid backend was found."


def host_name(host: str, backend: str) -> str:
    """Cinder's ``host@backend#pool`` (the pool is named after the backend)."""
    return f"{host}@{backend}#{backend}"


def backend_of(host: str) -> str:
    """The backend part of ``host@backend#pool`` ("" for "")."""
    return host.partition("@")[2].partition("#")[0] if "@" in host else host


@dataclass(frozen=True)
class BackendState:
    """One backend as the scheduler sees it."""

    name: str
    host: str  # host@backend#pool
    up: bool
    stats: BackendStats | None


@dataclass(frozen=True)
class Copied:
    """What a migration's copy did: bytes moved, seconds, and the checksum both ends agree on."""

    size: int
    seconds: float
    sha256: str
    sent: int = 0  # bytes on the wire (data extents only: holes are not sent)


class Pool(Protocol):
    """The backend processes behind the API (``blockstore.pool.Pool``)."""

    def backends(self) -> list[BackendState]:
        """Every configured backend, with its last stats (None while down)."""
        ...

    def bind(self, ident: str, host: str) -> None:
        """Route a volume's or snapshot's files to ``host`` from now on."""
        ...

    def copy_volume(self, volume_id: str, source: str, dest: str, thick: bool) -> Copied:
        """Copy a volume's file from backend ``source`` to ``dest`` (hosts), verified by
        checksum on both ends; the copy on ``dest`` is final only when they match. Blocks."""
        ...

    def drop_volume(self, volume_id: str, host: str) -> None:
        """Delete a volume's file on ``host`` (a migration's leftover). Blocks."""
        ...

    # A live migration's steps on one named backend (the volume stays routed to its
    # source until it is switched with ``bind``). Each blocks.

    def create_on(self, host: str, volume_id: str, size: int, thick: bool) -> None:
        """An empty volume file of ``size`` bytes on ``host``."""
        ...

    def export_on(self, host: str, spec: ExportSpec) -> tuple[str, ...]:
        """Export ``host``'s file of ``spec.volume_id`` as ``spec`` says; its portals."""
        ...

    def unexport_on(self, host: str, target_iqn: str) -> None:
        """Remove ``host``'s export of the target (its sessions end)."""
        ...

    def checksum_on(self, host: str, volume_id: str) -> str:
        """SHA-256 of what ``host``'s file of the volume reads as (holes as zeros)."""
        ...


def provisioned_on(t: Txn, host: str) -> int:
    """GiB of the volumes (and their snapshots) placed on ``host``."""
    vols = {v.id: v for v in t.scan(Volume) if v.host == host}
    snaps = [s for s in t.scan(Snapshot) if s.volume_id in vols]
    return sum(max(v.size, v.extend_to or 0) for v in vols.values()) + sum(s.size for s in snaps)


def free_gb(t: Txn, b: BackendState, rules: CapacityRules, thick: bool) -> float:
    """GiB more ``b`` may take (thin: virtual capacity left; thick: real free space too)."""
    if b.stats is None:
        return -1.0
    usable = b.stats.total * (100 - rules.reserved_percentage) / 100
    virtual = usable * rules.ratio / GiB - provisioned_on(t, b.host)
    if not thick:
        return virtual
    real = (b.stats.free - (b.stats.total - usable)) / GiB
    return min(virtual, real)


def choose(
    t: Txn,
    backends: Sequence[BackendState],
    vtype: VolumeType,
    size_gb: int,
    rules: CapacityRules,
    *,
    thick: bool,
    same_as: str | None = None,
) -> BackendState | None:
    """The backend a new volume goes to, or None (Cinder's NoValidBackend)."""
    wanted = vtype.extra_specs.get("volume_backend_name")
    best: tuple[float, BackendState] | None = None
    for b in backends:
        if not b.up or (wanted and b.name != wanted) or (same_as and backend_of(same_as) != b.name):
            continue
        free = free_gb(t, b, rules, thick)
        if free < size_gb:
            continue
        if best is None or free > best[0]:
            best = (free, b)
    return None if best is None else best[1]


def find(backends: Sequence[BackendState], ref: str) -> BackendState | None:
    """The backend ``ref`` names: ``host@backend#pool``, ``host@backend`` or ``backend``."""
    for b in backends:
        if ref in (b.host, b.host.split("#")[0], b.name):
            return b
    return None
