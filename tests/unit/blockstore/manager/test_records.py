"""Stored records: versioned msgpack, tolerant of added and unknown fields."""

from __future__ import annotations

import msgpack
import pytest

from blockstore.manager.records import (
    VERSION,
    Attachment,
    CorruptRecord,
    Volume,
    VolumeType,
    spec_true,
)


def test_round_trip_keeps_every_field() -> None:
    vol = Volume(project="p", name="v", size=3, metadata={"a": "b"}, multiattach=True)
    back = Volume.decode(vol.encode())
    assert back == vol
    assert vol.encode()[0] == VERSION


def test_unknown_fields_are_ignored_and_missing_ones_defaulted() -> None:
    raw = bytes([VERSION]) + msgpack.packb({"id": "x", "project": "p", "future": 1, "size": 2})
    vol = Volume.decode(raw)
    assert (vol.id, vol.size, vol.status, vol.metadata) == ("x", 2, "creating", {})


@pytest.mark.parametrize(
    "raw", [b"", b"\x09abc", bytes([VERSION]) + b"\xc1", bytes([VERSION]) + msgpack.packb([1])]
)
def test_corrupt_values_raise(raw: bytes) -> None:
    with pytest.raises(CorruptRecord):
        Volume.decode(raw)


def test_keys_are_scoped_by_project_except_global_kinds() -> None:
    assert Volume(id="a", project="p").key() == b"p\0a"
    assert VolumeType(id="t", project="ignored").key() == b"\0t"


def test_attachment_initiator_comes_from_the_connector() -> None:
    assert Attachment().initiator is None
    assert Attachment(connector={"initiator": "iqn.2020-01.x:y"}).initiator == "iqn.2020-01.x:y"
    assert Attachment(connector={"initiator": 5}).initiator is None


def test_type_flags_from_extra_specs() -> None:
    vt = VolumeType(extra_specs={"provisioning:type": "thick", "multiattach": "<is> True"})
    assert vt.thick and vt.multiattach
    assert not VolumeType().thick and not VolumeType().multiattach
    assert spec_true("True") and not spec_true("<is> False") and not spec_true(None)
