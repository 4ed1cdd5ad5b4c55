"""Quotas per project and the backend's thin-provisioning capacity, checked in-transaction.

Usage is counted from the records inside the same write transaction that
creates or grows a resource, so two concurrent requests can never both fit
in the last free unit. Cinder counts snapshot sizes against ``gigabytes``;
so do we. Capacity follows Cinder's thin-provisioning rule: provisioned GiB
(volumes and snapshots, of every project) may reach the usable capacity
times ``max_over_subscription_ratio``; thick volumes also need real free
space.
"""

from __future__ import annotations

from dataclasses import dataclass

from blockstore.backend import BackendStats
from blockstore.manager.errors import NoCapacity, OverQuota
from blockstore.manager.records import Backup, QuotaSet, Snapshot, Volume
from blockstore.manager.store import Txn

RESOURCES = ("volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes")
GiB = 1024**3


@dataclass(frozen=True)
class CapacityRules:
    ratio: float = 20.0
    reserved_percentage: int = 0


def limits(txn: Txn, project: str, defaults: dict[str, int]) -> dict[str, int]:
    """The project's limits: its overrides over the defaults (-1: unlimited)."""
    out = dict(defaults)
    override = txn.get(QuotaSet, "", project)
    if override is not None:
        out.update({k: v for k, v in override.limits.items() if k in RESOURCES})
    return out


def usage(txn: Txn, project: str) -> dict[str, int]:
    volumes = txn.scan(Volume, project)
    snapshots = txn.scan(Snapshot, project)
    backups = txn.scan(Backup, project)
    return {
        "volumes": len(volumes),
        "gigabytes": sum(max(v.size, v.extend_to or 0) for v in volumes)
        + sum(s.size for s in snapshots),
        "snapshots": len(snapshots),
        "backups": len(backups),
        "backup_gigabytes": sum(b.size for b in backups),
    }


def check(txn: Txn, project: str, defaults: dict[str, int], wanted: dict[str, int]) -> None:
    """OverQuota unless usage + ``wanted`` fits every limit."""
    lim = limits(txn, project, defaults)
    used = usage(txn, project)
    for name, delta in wanted.items():
        if delta <= 0 or lim[name] < 0:
            continue
        if used[name] + delta > lim[name]:
            raise OverQuota(_message(name, delta, lim[name], used[name]))


def _message(name: str, delta: int, limit: int, used: int) -> str:
    if name in ("gigabytes", "backup_gigabytes"):
        what = "volume or snapshot" if name == "gigabytes" else "backup"
        return (
            f"Requested {what} exceeds allowed {name} quota. Requested {delta}G, "
            f"quota is {limit}G and {used}G has been consumed."
        )
    return f"Maximum number of {name} allowed ({limit}) exceeded for quota '{name}'."


def provisioned_gb(txn: Txn) -> int:
    vols = txn.scan(Volume)
    snaps = txn.scan(Snapshot)
    return sum(max(v.size, v.extend_to or 0) for v in vols) + sum(s.size for s in snaps)


def check_capacity(
    txn: Txn, stats: BackendStats, rules: CapacityRules, size_gb: int, *, thick: bool
) -> None:
    """NoCapacity unless ``size_gb`` more GiB fit the backend."""
    usable = stats.total * (100 - rules.reserved_percentage) / 100
    reserved = stats.total - usable
    provisioned = provisioned_gb(txn) * GiB
    if provisioned + size_gb * GiB > usable * rules.ratio:
        raise NoCapacity(
            f"No valid backend: {size_gb}G more would provision {provisioned // GiB + size_gb}G, "
            f"over {usable * rules.ratio / GiB:.0f}G (capacity x over-subscription ratio)."
        )
    if thick and size_gb * GiB > stats.free - reserved:
        raise NoCapacity(
            f"No valid backend: a thick {size_gb}G volume needs that much free space; "
            f"{max(0, stats.free - reserved) // GiB}G is free."
        )
