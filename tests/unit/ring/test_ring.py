from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ring import Ring, RingBuilder, RingFileError
from tests.unit.ring.helpers import HOUR, add_devices

NAMES = [("AUTH_a",), ("AUTH_a", "c"), *[("AUTH_a", "c", f"o{i}") for i in range(200)]]
NAMES += [("AUTH_\u00fc", "cont \u2603", "obj/with/slashes")]


def _builder(devices: int = 8, zones: int = 4, part_power: int = 8) -> RingBuilder:
    b = RingBuilder(part_power, 3, 1)
    add_devices(b, [(1, i % zones, i // zones, 100 + 10 * i) for i in range(devices)])
    b.rebalance(seed=5, now=0)
    return b


@pytest.fixture
def ring_file(tmp_path: Path) -> Path:
    path = tmp_path / "object.ring"
    _builder().write_ring(path)
    return path


def _answers(ring: Ring) -> list[list]:
    out = []
    for name in NAMES:
        part, nodes = ring.get_nodes(*name)
        out.append([part, [d.id for d in nodes]])
    return out


def test_shape(ring_file: Path) -> None:
    ring = Ring(ring_file)
    assert (ring.part_power, ring.partition_count, ring.replica_count) == (8, 256, 3)
    assert [d.id for d in ring.devices] == list(range(8))
    assert ring.ring_version == 1


def test_get_nodes_agrees_with_parts(ring_file: Path) -> None:
    ring = Ring(ring_file, hash_path_prefix="p", hash_path_suffix="s")
    for name in NAMES:
        part, nodes = ring.get_nodes(*name)
        assert part == ring.get_part(*name)
        assert nodes == ring.get_part_nodes(part)
        assert len({d.id for d in nodes}) == 3
        assert len({d.zone for d in nodes}) == 3


def test_salts_change_placement(ring_file: Path) -> None:
    plain = [a[0] for a in _answers(Ring(ring_file))]
    salted = [a[0] for a in _answers(Ring(ring_file, hash_path_prefix="x", hash_path_suffix="y"))]
    assert plain != salted


def test_same_answers_in_another_process(ring_file: Path) -> None:
    ring = Ring(ring_file, hash_path_prefix="pre", hash_path_suffix="suf")
    script = (
        "import json, sys\n"
        "from ring import Ring\n"
        "ring = Ring(sys.argv[1], hash_path_prefix='pre', hash_path_suffix='suf')\n"
        "out = []\n"
        "for name in json.loads(sys.stdin.read()):\n"
        "    part, nodes = ring.get_nodes(*name)\n"
        "    out.append([part, [d.id for d in nodes]])\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    done = subprocess.run(
        [sys.executable, "-c", script, str(ring_file)],
        input=json.dumps(NAMES),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
        env=env,
    )
    assert json.loads(done.stdout) == _answers(ring)


def test_same_answers_after_builder_save_and_load(tmp_path: Path) -> None:
    b = _builder()
    b.write_ring(tmp_path / "a.ring")
    b.save(tmp_path / "x.builder")
    RingBuilder.load(tmp_path / "x.builder").write_ring(tmp_path / "b.ring")
    assert (tmp_path / "a.ring").read_bytes() == (tmp_path / "b.ring").read_bytes()
    assert _answers(Ring(tmp_path / "a.ring")) == _answers(Ring(tmp_path / "b.ring"))


def test_handoffs_never_repeat_and_prefer_new_zones(ring_file: Path) -> None:
    ring = Ring(ring_file)
    for part in range(ring.partition_count):
        primaries = ring.get_part_nodes(part)
        handoffs = list(ring.get_more_nodes(part))
        ids = [d.id for d in handoffs]
        assert len(ids) == len(set(ids))
        assert not {d.id for d in primaries} & set(ids)
        assert len(primaries) + len(handoffs) == len(ring.devices)
        # 4 zones, 3 replicas: the first handoff is in the one zone left
        assert handoffs[0].zone not in {d.zone for d in primaries}
        assert list(ring.get_more_nodes(part)) == handoffs  # stable


def test_handoffs_skip_devices_without_weight(tmp_path: Path) -> None:
    b = _builder()
    b.set_weight(7, 0)
    b.rebalance(seed=1, now=10 * HOUR)
    b.write_ring(tmp_path / "r.ring")
    ring = Ring(tmp_path / "r.ring")
    for part in range(0, ring.partition_count, 17):
        assert 7 not in {d.id for d in ring.get_more_nodes(part)}


def test_handoff_order_mostly_survives_adding_a_device(tmp_path: Path) -> None:
    b = _builder()
    b.write_ring(tmp_path / "old.ring")
    old = Ring(tmp_path / "old.ring")
    before = {p: [d.id for d in old.get_more_nodes(p)] for p in range(old.partition_count)}
    b.add_device(region=1, zone=9, ip="10.9.9.9", port=1, device="new", weight=1)
    b.rebalance(seed=2, now=10 * HOUR)
    b.write_ring(tmp_path / "new.ring")
    new = Ring(tmp_path / "new.ring")
    same = 0
    for p in range(new.partition_count):
        if [d.id for d in new.get_part_nodes(p)] != [d.id for d in old.get_part_nodes(p)]:
            continue
        after = [d.id for d in new.get_more_nodes(p) if d.id != 8]
        same += after == before[p]
    assert same > 0.9 * new.partition_count


def test_reload_when_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "object.ring"
    b = _builder()
    b.write_ring(path)
    ring = Ring(path, reload_interval=0)
    first = _answers(ring)
    b.remove_device(0)
    b.rebalance(seed=3, now=10 * HOUR)
    b.write_ring(path)
    assert _answers(ring) != first
    assert 0 not in {d.id for d in ring.devices}
    assert ring.ring_version == 2


def test_no_reload_before_interval(tmp_path: Path) -> None:
    path = tmp_path / "object.ring"
    b = _builder()
    b.write_ring(path)
    ring = Ring(path, reload_interval=3600)
    b.remove_device(0)
    b.rebalance(seed=3, now=10 * HOUR)
    b.write_ring(path)
    assert 0 in {d.id for d in ring.devices}
    ring.reload()
    assert 0 not in {d.id for d in ring.devices}


def test_broken_push_keeps_the_last_good_ring(tmp_path: Path) -> None:
    path = tmp_path / "object.ring"
    _builder().write_ring(path)
    ring = Ring(path, reload_interval=0)
    first = _answers(ring)
    path.write_bytes(path.read_bytes()[:100])
    assert _answers(ring) == first
    with pytest.raises(RingFileError):
        ring.reload()


def test_bad_partitions(ring_file: Path) -> None:
    ring = Ring(ring_file)
    with pytest.raises(ValueError):
        ring.get_part_nodes(256)
    with pytest.raises(ValueError):
        ring.get_more_nodes(-1)
    with pytest.raises(TypeError):
        ring.get_part_nodes("1")  # type: ignore[arg-type]


def test_missing_or_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(RingFileError):
        Ring(tmp_path / "none.ring")
    (tmp_path / "junk.ring").write_bytes(b"junk" * 10)
    with pytest.raises(RingFileError):
        Ring(tmp_path / "junk.ring")
