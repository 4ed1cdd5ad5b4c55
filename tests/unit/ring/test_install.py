"""Ring versions and checksums, and installing a pushed ring: never backwards, never half."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ring import (
    Outcome,
    Ring,
    RingBuilder,
    RingFileError,
    RingRefused,
    install_ring,
)
from ring.ringfile import decode, encode, read_ring_file
from tests.unit.ring.helpers import add_devices


def _builder() -> RingBuilder:
    b = RingBuilder(4, 2, min_part_hours=0)
    add_devices(b, [(1, 1, 1, 100.0), (1, 2, 2, 100.0), (1, 3, 3, 100.0)])
    b.rebalance(seed=1)
    return b


def _next(b: RingBuilder, weight: float) -> bytes:
    b.set_weight(0, weight)
    b.rebalance(seed=2)
    return encode(b.to_ring_data())


def test_every_rebalance_that_changes_something_raises_the_version() -> None:
    b = _builder()
    first = decode(encode(b.to_ring_data()))
    assert first.ring_version == 1
    second = decode(_next(b, 50.0))
    assert second.ring_version == 2
    b.rebalance(seed=3)  # nothing changed: the same ring, the same version
    assert b.ring_version == 2


def test_the_checksum_names_the_ring_contents() -> None:
    b = _builder()
    data = b.to_ring_data()
    blob = encode(data)
    assert data.checksum == decode(blob).checksum == blob[-8:][::-1].hex()
    assert len(data.checksum) == 16
    other = decode(_next(_builder(), 10.0))
    assert other.checksum != data.checksum
    assert data == decode(blob)  # the checksum does not take part in equality


def test_ring_exposes_version_and_checksum(tmp_path: Path) -> None:
    b = _builder()
    b.write_ring(tmp_path / "object.ring")
    ring = Ring(tmp_path / "object.ring")
    assert ring.ring_version == 1
    assert ring.checksum == read_ring_file(tmp_path / "object.ring").checksum


def test_a_ring_file_written_before_checksums_were_shown_still_loads(tmp_path: Path) -> None:
    # The format did not change: version and checksum were always in the file.
    blob = encode(_builder().to_ring_data())
    assert blob[8:10] == (1).to_bytes(2, "little")
    (tmp_path / "r.ring").write_bytes(blob)
    assert read_ring_file(tmp_path / "r.ring").ring_version == 1


def test_install_into_an_empty_directory_creates_it_private(tmp_path: Path) -> None:
    target = tmp_path / "srv" / "rings" / "object.ring"
    blob = encode(_builder().to_ring_data())
    done = install_ring(target, blob)
    assert (done.outcome, done.version, done.previous) == (Outcome.INSTALLED, 1, None)
    assert target.read_bytes() == blob
    assert (target.parent.stat().st_mode & 0o777) == 0o700
    assert (target.stat().st_mode & 0o777) == 0o600


def test_newer_installs_same_is_current_older_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "object.ring"
    b = _builder()
    v1 = encode(b.to_ring_data())
    v2 = _next(b, 50.0)
    assert install_ring(target, v1).outcome is Outcome.INSTALLED
    done = install_ring(target, v2)
    assert (done.outcome, done.version, done.previous) == (Outcome.INSTALLED, 2, 1)
    again = install_ring(target, v2)
    assert (again.outcome, again.version) == (Outcome.CURRENT, 2)
    with pytest.raises(RingRefused, match="older than the installed 2"):
        install_ring(target, v1)
    assert target.read_bytes() == v2


def test_another_ring_under_the_same_version_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "object.ring"
    install_ring(target, _next(_builder(), 50.0))
    rival = _next(_builder(), 20.0)  # another builder's version 2
    with pytest.raises(RingRefused, match="two different rings claim one version"):
        install_ring(target, rival)


def test_part_power_cannot_change_in_place(tmp_path: Path) -> None:
    target = tmp_path / "object.ring"
    install_ring(target, encode(_builder().to_ring_data()))
    b = RingBuilder(5, 2, min_part_hours=0)
    add_devices(b, [(1, 1, 1, 100.0), (1, 2, 2, 100.0)])
    b.rebalance(seed=1)
    b.set_weight(0, 50.0)
    b.rebalance(seed=1)
    with pytest.raises(RingRefused, match="cannot change in place"):
        install_ring(target, encode(b.to_ring_data()))


@pytest.mark.parametrize("where", ["header", "table", "checksum", "truncated"])
def test_a_tampered_ring_is_refused_and_the_old_one_kept(tmp_path: Path, where: str) -> None:
    target = tmp_path / "object.ring"
    b = _builder()
    v1 = encode(b.to_ring_data())
    install_ring(target, v1)
    bad = bytearray(_next(b, 50.0))
    if where == "truncated":
        bad = bad[: len(bad) // 2]
    else:
        at = {"header": 30, "table": len(bad) - 20, "checksum": len(bad) - 1}[where]
        bad[at] ^= 0x01
    with pytest.raises(RingFileError):
        install_ring(target, bytes(bad))
    assert target.read_bytes() == v1
    assert os.listdir(tmp_path) == ["object.ring"]  # no temp file left behind


def test_a_broken_installed_ring_is_replaced_by_any_good_one(tmp_path: Path) -> None:
    target = tmp_path / "object.ring"
    target.write_bytes(b"not a ring")
    done = install_ring(target, encode(_builder().to_ring_data()))
    assert (done.outcome, done.previous) == (Outcome.INSTALLED, None)
