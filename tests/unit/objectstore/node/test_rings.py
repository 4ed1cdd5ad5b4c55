"""How a node sees the rings: its own devices, and a rebalance picked up at once."""

from __future__ import annotations

from pathlib import Path

from objectstore.node.rings import NodeRings
from ring import build_cluster_rings


def _build(ring_dir: Path, nodes: int) -> None:
    build_cluster_rings(
        ring_dir,
        [("127.0.0.1", 6200 + i, ["d0"]) for i in range(nodes)],
        part_power=4,
        replicas=2,
        min_part_hours=0,
    )


def test_own_devices_and_replica_index(tmp_path: Path) -> None:
    _build(tmp_path, 3)
    me = NodeRings(str(tmp_path), ip="127.0.0.1", port=6201, devices=["d0"])
    ring = me.ring("o")
    assert ring is not None
    indexes = {me.my_index(ring.get_part_nodes(p), "d0") for p in range(16)}
    assert indexes <= {0, 1, None} and {0, 1} & indexes
    wildcard = NodeRings(str(tmp_path), ip="0.0.0.0", port=6201, devices=["d0"])
    dev = next(d for d in ring.devices if d.port == 6201)
    assert wildcard.is_me(dev, "d0") and not wildcard.is_me(dev, "d1")
    assert all(not me.is_me(d, "d0") for d in me.handoffs(ring, 3, "d0"))


def test_a_missing_ring_is_none_and_a_new_one_is_seen_at_the_next_pass(tmp_path: Path) -> None:
    me = NodeRings(str(tmp_path), ip="127.0.0.1", port=6203, devices=["d0"])
    assert me.ring("o") is None and me.refresh("c") is None
    _build(tmp_path, 3)
    ring = me.refresh("o")
    assert ring is not None and len(ring.devices) == 3
    _build(tmp_path, 4)  # node 6203 joins
    assert len(me.refresh("o").devices) == 4  # no waiting for the reload interval
