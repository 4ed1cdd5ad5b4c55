from __future__ import annotations

from pathlib import Path

import pytest

from ring import Ring, RingBuilder, RingBuilderError, build_cluster_rings

NODES = [("127.0.0.1", 6200 + i, ["d0", "d1"]) for i in range(3)]
NAMES = ("account", "container", "object")


def _stamps(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}


def test_builds_three_rings_one_zone_per_node(tmp_path: Path) -> None:
    build_cluster_rings(tmp_path, NODES, part_power=6, replicas=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}.{ext}" for n in NAMES for ext in ("builder", "ring")
    )
    for name in NAMES:
        ring = Ring(tmp_path / f"{name}.ring")
        assert ring.replica_count == 3 and ring.partition_count == 64
        assert len(ring.devices) == 6
        assert {(d.port, d.zone) for d in ring.devices} == {(6200, 1), (6201, 2), (6202, 3)}
        for part in range(64):
            assert len({d.zone for d in ring.get_part_nodes(part)}) == 3
        assert (
            RingBuilder.load(tmp_path / f"{name}.builder").check_ring_file(
                tmp_path / f"{name}.ring"
            )
            == []
        )


def test_is_deterministic(tmp_path: Path) -> None:
    build_cluster_rings(tmp_path / "a", NODES, part_power=6, replicas=3, seed=4)
    build_cluster_rings(tmp_path / "b", NODES, part_power=6, replicas=3, seed=4)
    for name in NAMES:
        ring = f"{name}.ring"
        assert (tmp_path / "a" / ring).read_bytes() == (tmp_path / "b" / ring).read_bytes()
    assert (tmp_path / "a/object.ring").read_bytes() != (tmp_path / "a/account.ring").read_bytes()


def test_same_devices_leave_files_untouched(tmp_path: Path) -> None:
    build_cluster_rings(tmp_path, NODES, part_power=6, replicas=3)
    before = _stamps(tmp_path)
    build_cluster_rings(tmp_path, NODES, part_power=6, replicas=3)
    assert _stamps(tmp_path) == before


def test_missing_or_broken_ring_is_rewritten_from_its_builder(tmp_path: Path) -> None:
    build_cluster_rings(tmp_path, NODES, part_power=6, replicas=3)
    good = (tmp_path / "object.ring").read_bytes()
    (tmp_path / "object.ring").unlink()
    (tmp_path / "account.ring").write_bytes(b"garbage")
    build_cluster_rings(tmp_path, NODES, part_power=6, replicas=3)
    assert (tmp_path / "object.ring").read_bytes() == good
    Ring(tmp_path / "account.ring")


def test_new_node_is_added_and_most_data_stays(tmp_path: Path) -> None:
    build_cluster_rings(tmp_path, NODES, part_power=8, replicas=3, min_part_hours=0)
    old = Ring(tmp_path / "object.ring")
    before = [[d.id for d in old.get_part_nodes(p)] for p in range(256)]
    grown = [*NODES, ("127.0.0.1", 6203, ["d0", "d1"])]
    build_cluster_rings(tmp_path, grown, part_power=8, replicas=3, min_part_hours=0)
    new = Ring(tmp_path / "object.ring")
    assert len(new.devices) == 8
    after = [[d.id for d in new.get_part_nodes(p)] for p in range(256)]
    moved = sum(
        a != b for x, y in zip(before, after, strict=True) for a, b in zip(x, y, strict=True)
    )
    assert 0 < moved <= 0.3 * 256 * 3  # a quarter of the replicas should move


def test_shape_cannot_change(tmp_path: Path) -> None:
    build_cluster_rings(tmp_path, NODES, part_power=6, replicas=3)
    with pytest.raises(RingBuilderError, match="cannot change"):
        build_cluster_rings(tmp_path, NODES, part_power=7, replicas=3)


def test_single_zone_when_asked(tmp_path: Path) -> None:
    build_cluster_rings(tmp_path, NODES, part_power=6, replicas=2, zones_per_node=False)
    assert {d.zone for d in Ring(tmp_path / "object.ring").devices} == {1}
    with pytest.raises(RingBuilderError):
        build_cluster_rings(tmp_path / "empty", [], part_power=6, replicas=2)
