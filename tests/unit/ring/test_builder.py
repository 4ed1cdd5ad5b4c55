from __future__ import annotations

from pathlib import Path

import pytest

from ring import Ring, RingBuilder, RingBuilderError, RingFileError
from tests.unit.ring.helpers import HOUR, add_devices, rows


def _builder(clock=None) -> RingBuilder:
    b = RingBuilder(6, 3, 1, clock=clock) if clock else RingBuilder(6, 3, 1)
    add_devices(b, [(1, z, 0, 100.0) for z in range(4)])
    return b


def test_parameters_are_checked() -> None:
    for args in [
        (-1, 3),
        (25, 3),
        (8, 0),
        (8, 33),
        (8, 3, -1),
        (8, 3, 1, -0.5),
        (8, 3, 1, float("nan")),
    ]:
        with pytest.raises(RingBuilderError):
            RingBuilder(*args)


def test_device_ids_are_not_reused_and_duplicates_are_refused() -> None:
    b = _builder()
    assert [d.id for d in b.devices] == [0, 1, 2, 3]
    b.remove_device(3)
    assert b.add_device(region=1, zone=9, ip="10.0.0.9", port=1, device="x", weight=1) == 4
    with pytest.raises(RingBuilderError, match="in use"):
        b.add_device(region=1, zone=9, ip="10.0.0.8", port=1, device="y", weight=1, id=3)
    with pytest.raises(RingBuilderError, match="already device"):
        b.add_device(region=1, zone=8, ip="10.0.0.9", port=1, device="x", weight=1)
    assert b.add_device(region=1, zone=8, ip="10.0.0.7", port=1, device="z", weight=1, id=40) == 40
    with pytest.raises(RingBuilderError, match="no device"):
        b.remove_device(99)
    with pytest.raises(RingBuilderError):
        b.set_weight(0, -3)


def test_rebalance_needs_enough_weighted_devices() -> None:
    b = RingBuilder(4, 3)
    add_devices(b, [(1, 0, 0, 1.0), (1, 1, 0, 1.0), (1, 2, 0, 0.0)])
    with pytest.raises(RingBuilderError, match="at least 3 devices"):
        b.rebalance(seed=1)


def test_write_ring_needs_a_rebalance_after_changes(tmp_path: Path) -> None:
    b = _builder()
    with pytest.raises(RingBuilderError, match="never been rebalanced"):
        b.write_ring(tmp_path / "r.ring")
    b.rebalance(seed=1, now=0)
    b.write_ring(tmp_path / "r.ring")
    b.set_weight(0, 50)
    assert b.pending_changes
    with pytest.raises(RingBuilderError, match="rebalance first"):
        b.write_ring(tmp_path / "r.ring")


def test_clock_drives_min_part_hours() -> None:
    now = [0.0]
    b = _builder(clock=lambda: now[0])
    b.rebalance(seed=1)
    add_devices(b, [(1, 4, 0, 100.0)], first=10)
    now[0] = 0.5 * HOUR
    report = b.rebalance(seed=2)
    assert report.moved == 0 and report.held == b.partition_count
    now[0] = 1.0 * HOUR
    report = b.rebalance(seed=3)
    assert report.moved > 0 and report.held == 0


def test_pretending_min_part_hours_passed_lets_partitions_move() -> None:
    epoch = 1.8e9  # a real clock's seconds: every move is far from minute 0
    b = _builder(clock=lambda: epoch + 0.5 * HOUR)
    b.rebalance(seed=1, now=epoch)
    add_devices(b, [(1, 4, 0, 100.0)], first=10)
    assert b.rebalance(seed=2).moved == 0  # every partition moved half an hour ago
    b.pretend_min_part_hours_passed()
    report = b.rebalance(seed=3)
    assert report.moved > 0 and report.held == 0


def test_ring_version_counts_changes() -> None:
    b = _builder()
    assert b.rebalance(seed=1, now=0).ring_version == 1
    assert b.rebalance(seed=1, now=2 * HOUR).ring_version == 1  # nothing changed
    b.set_weight(1, 300)
    assert b.rebalance(seed=1, now=4 * HOUR).ring_version == 2


def test_save_load_round_trip(tmp_path: Path) -> None:
    b = _builder()
    b.rebalance(seed=1, now=0)
    b.remove_device(2)
    b.save(tmp_path / "x.builder")
    back = RingBuilder.load(tmp_path / "x.builder")
    assert back.devices == b.devices
    assert back.pending_changes
    assert rows(back) == rows(b)
    assert (back.part_power, back.replicas, back.min_part_hours, back.overload) == (6, 3, 1, 0.0)
    # the removal is remembered: the next rebalance moves device 2's replicas
    assert back.rebalance(seed=2, now=2 * HOUR).moved == sum(r.count(2) for r in rows(b))
    # and id 2 is not handed out again before that rebalance
    again = RingBuilder.load(tmp_path / "x.builder")
    assert again.add_device(region=1, zone=5, ip="10.0.0.5", port=1, device="n", weight=1) == 4


def test_validate_and_check_ring_file(tmp_path: Path) -> None:
    b = _builder()
    assert b.validate() == ["the builder has never been rebalanced"]
    b.rebalance(seed=1, now=0)
    assert b.validate() == []
    ring = tmp_path / "x.ring"
    assert b.check_ring_file(ring)[0].startswith("cannot read ring file")
    b.write_ring(ring)
    assert b.check_ring_file(ring) == []
    other = _builder()
    other.rebalance(seed=2, now=0)
    other.write_ring(ring)
    problems = b.check_ring_file(ring)
    assert any("placed differently" in p for p in problems)
    b.add_device(region=1, zone=7, ip="10.0.0.7", port=1, device="n", weight=1)
    assert b.validate() == ["devices changed since the last rebalance; rebalance first"]
    assert "ring file devices differ from the builder's" in b.check_ring_file(ring)


def test_ring_indexes_devices_densely_when_ids_have_holes(tmp_path: Path) -> None:
    b = _builder()
    b.rebalance(seed=1, now=0)
    b.remove_device(1)
    add_devices(b, [(1, 1, 5, 100.0)], first=20)
    b.rebalance(seed=2, now=2 * HOUR)
    b.write_ring(tmp_path / "x.ring")
    ring = Ring(tmp_path / "x.ring")
    assert [d.id for d in ring.devices] == [0, 2, 3, 4]
    for p, row in enumerate(rows(b)):
        assert [d.id for d in ring.get_part_nodes(p)] == list(row)
    assert b.check_ring_file(tmp_path / "x.ring") == []


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(RingFileError, match="cannot read"):
        RingBuilder.load(tmp_path / "none.builder")
    (tmp_path / "bad.builder").write_text("{}")
    with pytest.raises(RingFileError, match="not a Stratus ring builder"):
        RingBuilder.load(tmp_path / "bad.builder")
