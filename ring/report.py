"""How good a placement is: balance, dispersion and what a rebalance moved."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ring.targets import LEVELS, Topology

# What balance reads when a device of weight zero still holds replicas (as Swift does).
MAX_BALANCE = 999.99


@dataclass(frozen=True)
class RebalanceReport:
    """The outcome of a rebalance (or of ``RingBuilder.report()``, with nothing moved).

    moved: replica assignments that changed; partitions_moved: partitions with
    at least one; balance: worst deviation of any device from its weighted
    share, in percent; dispersion: partitions whose replicas share a failure
    domain although the cluster has enough domains to keep them apart;
    held: partitions that min_part_hours kept from moving.
    """

    moved: int
    partitions_moved: int
    balance: float
    dispersion: int
    dispersion_by_tier: dict[str, int] = field(default_factory=dict)
    devices: dict[int, dict[str, float]] = field(default_factory=dict, repr=False)
    ring_version: int = 0
    seed: int | None = None
    held: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["devices"] = {str(k): v for k, v in self.devices.items()}
        return out


def device_counts(table: list[array]) -> Counter[int]:
    total: Counter[int] = Counter()
    for col in table:
        total.update(col)
    return total


def device_stats(topo: Topology, counts: Counter[int]) -> dict[int, dict[str, float]]:
    """Per present device: partitions held, weighted share, target, deviation %."""
    shares = topo.weighted_share()
    out = {}
    for dev in topo.devices:
        held = counts.get(dev.id, 0)
        share = shares.get(dev.id, 0.0)
        dev_balance = 100.0 * (held - share) / share if share > 0 else (MAX_BALANCE if held else 0)
        out[dev.id] = {
            "parts": held,
            "share": round(share, 3),
            "target": topo.target_dev[dev.id],
            "balance": round(max(-MAX_BALANCE, min(MAX_BALANCE, dev_balance)), 4),
        }
    return out


def balance_of(stats: dict[int, dict[str, float]]) -> float:
    return max((abs(s["balance"]) for s in stats.values()), default=0.0)


def dispersion_of(topo: Topology, table: list[array]) -> tuple[int, dict[str, int]]:
    """Partitions using fewer distinct domains than min(replicas, domains) at some tier."""
    P = topo.partitions
    bad = bytearray(P)
    by_tier: dict[str, int] = {}
    suspects: list[int] | None = None  # partitions a wider tier already found crowded
    for level, name in enumerate(LEVELS):
        need = topo.need(level)
        dm = topo.dom[level]
        count = 0
        if suspects is None:
            cols = [[dm[d] if d < len(dm) else -1 for d in col] for col in table]
            memo: dict[tuple[int, ...], bool] = {}
            failing = []
            for p, t in enumerate(zip(*cols, strict=True)):
                ok = memo.get(t) if need < topo.replicas else None
                if ok is None:
                    ok = len(set(t)) >= need and min(t) >= 0
                    if need < topo.replicas:
                        memo[t] = ok
                if not ok:
                    failing.append(p)
            if need == topo.replicas:
                # Apart at this tier means apart at every narrower tier too.
                suspects = failing
        else:
            failing = []
            for p in suspects:
                t = [dm[col[p]] if col[p] < len(dm) else -1 for col in table]
                if len(set(t)) < need or min(t) < 0:
                    failing.append(p)
            suspects = failing
        for p in failing:
            bad[p] = 1
        count = len(failing)
        by_tier[name] = count
    return sum(bad), by_tier
