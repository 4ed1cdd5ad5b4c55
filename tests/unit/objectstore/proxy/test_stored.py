"""The layout of core metadata in the node's flat map."""

from __future__ import annotations

import pytest

from objectstore.proxy import stored


def test_round_trip() -> None:
    packed = stored.pack({"Color": "blue"}, {"content-encoding": "gzip", "read-acl": ""})
    assert packed == {"m:color": "blue", "content-encoding": "gzip", "read-acl": ""}
    assert stored.unpack(packed) == (
        {"color": "blue"},
        {"content-encoding": "gzip", "read-acl": ""},
    )


def test_pack_set_drops_empty_values() -> None:
    assert stored.pack_set({"a": "", "b": "1"}, {"x": ""}) == {"m:b": "1"}


def test_system_keys_cannot_pose_as_user_metadata() -> None:
    with pytest.raises(ValueError):
        stored.pack({}, {"m:sneaky": "1"})
