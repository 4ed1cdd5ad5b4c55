"""A replica table from scratch: exact targets, full dispersion, well-mixed partners.

The list of all P * R replica slots, devices grouped by region, zone and node
and each repeated target times, is cut into R columns of P rows (one per
replica). A domain holding at most P replicas is a run of at most P
consecutive slots, so it meets a row in at most one column; a larger one
meets every row floor or ceil of its share times (McNaughton's wrap-around
rule). That alone would tie each device to the few devices beside it in the
next column, so the rows are dealt into blocks, each laid out with its own
random domain order, and rows are shuffled inside each column wherever no
domain that spans two columns has a boundary.
"""

from __future__ import annotations

import itertools
import random
from array import array
from collections import Counter

from ring.targets import Topology

BLOCKS = 64


def random_order(topo: Topology, rng: random.Random) -> list[int]:
    """Active devices grouped by region, zone and node, each level in random order."""
    order: list[int] = []
    regions = list(topo.roots)
    rng.shuffle(regions)
    for reg in regions:
        zones = list(topo.children[0][reg])
        rng.shuffle(zones)
        for zone in zones:
            nodes = list(topo.children[1][zone])
            rng.shuffle(nodes)
            for node in nodes:
                devs = list(topo.children[2][node])
                rng.shuffle(devs)
                order.extend(devs)
    return order


def fresh_layout(topo: Topology, rng: random.Random) -> list[array]:
    """One u16 array of device ids per replica, meeting every device's target exactly."""
    P, R = topo.partitions, topo.replicas
    blocks = min(P, BLOCKS)
    rows = P // blocks
    flat = array("H")
    for d in random_order(topo, rng):
        flat.extend(array("H", [d]) * topo.target_dev[d])
    # Dealing the grouped list round-robin gives every block floor or ceil of
    # each domain's share: within the block's bounds, since P / blocks is whole.
    columns = [array("H") for _ in range(R)]
    for b in range(blocks):
        counts = Counter(flat[b::blocks])
        order = [d for d in random_order(topo, rng) if counts.get(d)]
        slots: list[int] = []
        for d in order:
            slots.extend([d] * counts[d])
        cuts = _column_cuts(topo, order, counts, rows, R)
        for r in range(R):
            col = slots[r * rows : (r + 1) * rows]
            for lo, hi in itertools.pairwise(sorted(cuts[r])):
                seg = col[lo:hi]
                rng.shuffle(seg)
                col[lo:hi] = seg
            columns[r].extend(col)
    return columns


def _column_cuts(
    topo: Topology, order: list[int], counts: Counter[int], rows: int, replicas: int
) -> list[set[int]]:
    """Per column, the row offsets where a domain spanning several columns begins or ends.

    Shuffling rows only between consecutive cuts keeps the rows of every such
    domain the same in each column, hence still disjoint across columns.
    """
    cuts = [{0, rows} for _ in range(replicas)]
    start = [0, 0, 0, 0]
    current = [-1, -1, -1, -1]
    pos = 0
    for d in [*order, -1]:
        for level in range(4):
            x = topo.dom[level][d] if d >= 0 else -2
            if x != current[level]:
                a, z = start[level], pos
                if current[level] != -1 and z > a and a // rows != (z - 1) // rows:
                    cuts[a // rows].add(a % rows)
                    cuts[(z - 1) // rows].add(z - (z - 1) // rows * rows)
                current[level], start[level] = x, pos
        if d >= 0:
            pos += counts[d]
    return cuts
