from __future__ import annotations

import json
from pathlib import Path

import pytest

from ring import RingBuilder, RingFileError
from ring.builderfile import FORMAT_VERSION, decode
from tests.unit.ring.helpers import add_devices


def _saved(tmp_path: Path) -> dict:
    b = RingBuilder(5, 2, 1, 0.25)
    add_devices(b, [(1, z, 0, 10.0) for z in range(3)])
    b.rebalance(seed=1, now=600)
    b.save(tmp_path / "x.builder")
    return json.loads((tmp_path / "x.builder").read_text())


def _decode(doc: dict) -> None:
    decode(json.dumps(doc).encode())


def test_format_is_versioned_json(tmp_path: Path) -> None:
    doc = _saved(tmp_path)
    assert doc["format"] == "stratus-ring-builder"
    assert doc["version"] == FORMAT_VERSION
    assert doc["overload"] == 0.25 and len(doc["devices"]) == 3
    state = decode(json.dumps(doc).encode())
    assert state.last_moved is not None and set(state.last_moved) == {10}


def test_newer_version_is_refused(tmp_path: Path) -> None:
    doc = _saved(tmp_path)
    doc["version"] = FORMAT_VERSION + 1
    with pytest.raises(RingFileError, match="newer"):
        _decode(doc)


@pytest.mark.parametrize(
    "change",
    [
        {"part_power": 40},
        {"replicas": 0},
        {"overload": -1},
        {"overload": "x"},
        {"devices": "x"},
        {"removed": [-1]},
        {"dirty": "yes"},
        {"table": ["AAAA", "AAAA"]},
        {"table": ["!!!!", "!!!!"]},
        {"table": None},
        {"last_moved": "eJwDAAAAAAE="},
        {"version": 0},
    ],
)
def test_corrupt_fields_are_refused(tmp_path: Path, change: dict) -> None:
    doc = _saved(tmp_path)
    doc.update(change)
    with pytest.raises(RingFileError):
        _decode(doc)


def test_repeated_device_ids_are_refused(tmp_path: Path) -> None:
    doc = _saved(tmp_path)
    doc["devices"][1]["id"] = doc["devices"][0]["id"]
    with pytest.raises(RingFileError, match="repeat"):
        _decode(doc)


def test_not_json() -> None:
    with pytest.raises(RingFileError, match="not a builder file"):
        decode(b"\x00\x01")
