"""How many replicas each failure domain and device should hold.

Dispersion comes first, weight second. For each level (region, zone, node,
device) with N domains that take weight:

* N >= replicas: no domain may hold two replicas of one partition, so no
  domain's target exceeds one replica of every partition (P);
* N <= replicas: every domain holds a replica of every partition, so no
  domain's target falls below P.

Within those bounds each parent's replicas are shared among its children in
proportion to weight (water-filling), then rounded to whole replicas in a way
that keeps the current counts where it can, so that an unchanged cluster
rebalances to zero moves. A device's share can therefore differ from its pure
weighted share when weights and failure domains disagree (one zone holding
half the weight of a three-replica ring); ``balance`` reports that honestly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from ring.device import Device
from ring.errors import RingBuilderError

LEVELS = ("region", "zone", "node", "device")
INF = math.inf


def domain_keys(dev: Device) -> tuple[tuple, tuple, tuple]:
    """The region, zone and node keys of a device (each includes its parents)."""
    return (dev.region,), (dev.region, dev.zone), (dev.region, dev.zone, dev.ip)


class Topology:
    """The failure-domain tree of the present devices and each domain's integer target.

    Levels 0-2 (region, zone, node) number their domains densely; level 3 uses
    device ids. ``dom[l][dev_id]`` is a device's domain at level l (-1 when the
    device is not present). Only devices with weight take partitions; devices
    of weight zero are mapped (their replicas still count for dispersion) but
    have target 0.
    """

    def __init__(
        self,
        devices: Iterable[Device],
        partitions: int,
        replicas: int,
        counts: Mapping[int, int] | None = None,
    ) -> None:
        self.devices = sorted(devices, key=lambda d: d.id)
        self.partitions = partitions
        self.replicas = replicas
        counts = counts or {}
        size = (self.devices[-1].id + 1) if self.devices else 0
        self.dom: list[list[int]] = [[-1] * size for _ in range(3)]
        self.dom.append(list(range(size)))
        self.present = [False] * size
        keys: list[dict[tuple, int]] = [{}, {}, {}]
        self.parent: list[list[int]] = [[], [], []]
        for dev in self.devices:
            self.present[dev.id] = True
            parent = -1
            for level, key in enumerate(domain_keys(dev)):
                idx = keys[level].setdefault(key, len(keys[level]))
                if idx == len(self.parent[level]):
                    self.parent[level].append(parent)
                self.dom[level][dev.id] = idx
                parent = idx
        for d in range(size):
            if not self.present[d]:
                self.dom[3][d] = -1
        self.keys = [sorted(k, key=k.__getitem__) for k in keys]
        self.weight: dict[int, float] = {d.id: d.weight for d in self.devices}
        self.active = [d.id for d in self.devices if d.weight > 0]
        if len(self.active) < replicas:
            raise RingBuilderError(
                f"{replicas} replicas need at least {replicas} devices with weight > 0; "
                f"the ring has {len(self.active)}"
            )
        self._build_tree()
        self._plan(counts)

    # -- tree ------------------------------------------------------------

    def _build_tree(self) -> None:
        """children[l][x]: active children of domain x at level l (roots: active regions)."""
        self.children: list[list[list[int]]] = [
            [[] for _ in range(len(self.keys[level]))] for level in range(3)
        ]
        self.roots: list[int] = []
        self.dom_weight: list[list[float]] = [[0.0] * len(self.keys[level]) for level in range(3)]
        seen: list[set[int]] = [set(), set(), set()]
        for dev_id in self.active:
            path = [self.dom[level][dev_id] for level in range(3)]
            for level in range(3):
                self.dom_weight[level][path[level]] += self.weight[dev_id]
            if path[0] not in seen[0]:
                seen[0].add(path[0])
                self.roots.append(path[0])
            for level in (1, 2):
                if path[level] not in seen[level]:
                    seen[level].add(path[level])
                    self.children[level - 1][path[level - 1]].append(path[level])
            self.children[2][path[2]].append(dev_id)
        self.n_active = [len(seen[0]), len(seen[1]), len(seen[2]), len(self.active)]

    def _plan(self, counts: Mapping[int, int]) -> None:
        P, R = self.partitions, self.replicas
        lo_level = [P if n <= R else 0 for n in self.n_active]
        hi_level = [P if n >= R else INF for n in self.n_active]
        hi_level[3] = P
        size = len(self.dom[3])
        # bounds and current counts, bottom-up
        self.target_dev = [0] * size
        self.target: list[list[int]] = [[0] * len(self.keys[level]) for level in range(3)]
        lo = [[0] * len(self.keys[level]) for level in range(3)] + [[0] * size]
        hi = [[0.0] * len(self.keys[level]) for level in range(3)] + [[0.0] * size]
        cur = [[0] * len(self.keys[level]) for level in range(3)] + [[0] * size]
        for dev_id in self.active:
            lo[3][dev_id], hi[3][dev_id] = lo_level[3], hi_level[3]
            cur[3][dev_id] = counts.get(dev_id, 0)
        for level in (2, 1, 0):
            for x, kids in enumerate(self.children[level]):
                if not kids:
                    continue
                lo[level][x] = max(lo_level[level], sum(lo[level + 1][c] for c in kids))
                hi[level][x] = min(hi_level[level], sum(hi[level + 1][c] for c in kids))
                cur[level][x] = sum(cur[level + 1][c] for c in kids)
        self._lo, self._hi, self._cur = lo, hi, cur
        # top-down shares
        self.root_target = P * R
        self._split(-1, self.roots, self.root_target)
        # per-partition bounds for placement
        self.cap = [[-(-t // P) for t in self.target[level]] for level in range(3)]
        self.floor = [[t // P for t in self.target[level]] for level in range(3)]
        self.cap.append([1 if t else 0 for t in self.target_dev])
        self.floor.append([t // P for t in self.target_dev])
        self.mandatory = [
            [x for x, f in enumerate(self.floor[level]) if f > 0] for level in range(4)
        ]

    def _split(self, level: int, kids: Sequence[int], total: int) -> None:
        child = level + 1
        weights = [self._child_weight(child, c) for c in kids]
        lo = [self._lo[child][c] for c in kids]
        hi = [self._hi[child][c] for c in kids]
        shares = waterfill(total, weights, lo, hi)
        cur = [self._cur[child][c] for c in kids]
        ints = sticky_round(total, shares, lo, hi, cur)
        for c, t in zip(kids, ints, strict=True):
            if child == 3:
                self.target_dev[c] = t
            else:
                self.target[child][c] = t
                self._split(child, self.children[child][c], t)

    def _child_weight(self, level: int, x: int) -> float:
        return self.weight[x] if level == 3 else self.dom_weight[level][x]

    # -- questions -------------------------------------------------------

    def weighted_share(self) -> dict[int, float]:
        """Pure weight shares of P * R replicas (what ``balance`` is measured against)."""
        total = sum(self.weight[d] for d in self.active)
        pr = self.partitions * self.replicas
        return {d: self.weight[d] * pr / total for d in self.active}

    def need(self, level: int) -> int:
        """Distinct domains each partition should use at a level: min(replicas, N)."""
        return min(self.replicas, self.n_active[level])


def waterfill(
    total: float, weights: Sequence[float], lo: Sequence[float], hi: Sequence[float]
) -> list[float]:
    """Shares proportional to weight, each clipped into [lo, hi], summing to total.

    Repeatedly solves the unclipped problem on the free items and pins the side
    (above hi or below lo) whose violation is larger; that side is pinned at the
    true solution too, so this converges in at most len(weights) rounds.
    """
    n = len(weights)
    shares: list[float | None] = [None] * n
    while True:
        free = [i for i in range(n) if shares[i] is None]
        if not free:
            return cast("list[float]", shares)  # no item is free: every share is set
        rem = total - sum(s for s in shares if s is not None)
        wsum = sum(weights[i] for i in free)
        lam = rem / wsum
        over = [i for i in free if lam * weights[i] > hi[i]]
        under = [i for i in free if lam * weights[i] < lo[i]]
        if not over and not under:
            for i in free:
                shares[i] = lam * weights[i]
            return cast("list[float]", shares)  # the free items were the last unset
        excess = sum(lam * weights[i] - hi[i] for i in over)
        deficit = sum(lo[i] - lam * weights[i] for i in under)
        if excess >= deficit:
            for i in over:
                shares[i] = float(hi[i])
        else:
            for i in under:
                shares[i] = float(lo[i])


def sticky_round(
    total: int,
    shares: Sequence[float],
    lo: Sequence[float],
    hi: Sequence[float],
    current: Sequence[int],
) -> list[int]:
    """Whole numbers within one of each share, summing to total, within [lo, hi].

    The spare units go first to children that already hold more than the
    rounded-down share (so they need not shed a replica for nothing), then by
    largest remainder.
    """
    n = len(shares)
    clipped = [min(max(s, lo[i]), hi[i]) for i, s in enumerate(shares)]
    ints = [
        max(int(lo[i]), min(math.floor(s), int(min(hi[i], 2**62)))) for i, s in enumerate(clipped)
    ]
    spare = total - sum(ints)
    order = sorted(range(n), key=lambda i: (current[i] <= ints[i], ints[i] - clipped[i], i))
    while spare > 0:
        progressed = False
        for i in order:
            if spare == 0:
                break
            if ints[i] + 1 <= hi[i]:
                ints[i] += 1
                spare -= 1
                progressed = True
        if not progressed:
            raise RingBuilderError("cannot place every replica within the failure-domain limits")
    while spare < 0:
        progressed = False
        for i in reversed(order):
            if spare == 0:
                break
            if ints[i] - 1 >= lo[i]:
                ints[i] -= 1
                spare += 1
                progressed = True
        if not progressed:
            raise RingBuilderError("failure-domain limits leave replicas without a place")
    return ints
