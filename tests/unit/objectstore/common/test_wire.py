"""The internal dialect: safe path segments, name and metadata limits."""

from __future__ import annotations

import pytest

from objectstore.common import wire


@pytest.mark.parametrize("name", ["a/b/c", "..", ".", "%2F", "é ü/?#&", "x" * 1024])
def test_segments_round_trip_and_never_split(name: str) -> None:
    seg = wire.quote_segment(name)
    assert "/" not in seg and seg not in (".", "..") and "." not in seg
    assert wire.unquote_segment(seg) == name


def test_object_path_shape() -> None:
    path = wire.object_path("d0", 3, "AUTH_a", "c", "../x/y")
    assert path == "/o/d0/3/AUTH_a/c/%2E%2E%2Fx%2Fy"


@pytest.mark.parametrize(
    "kind,name",
    [
        ("object", ""),
        ("object", "a\x00b"),
        ("object", "x" * 1025),
        ("object", "é" * 513),
        ("container", "a/b"),
        ("container", "c" * 257),
        ("account", "a" * 257),
    ],
)
def test_bad_names(kind: str, name: str) -> None:
    limit = {"object": 1024, "container": 256, "account": 256}[kind]
    with pytest.raises(wire.InvalidName):
        wire.check_name(kind, name, limit)


def test_bad_utf8_segment() -> None:
    with pytest.raises(wire.InvalidName):
        wire.unquote_segment("%FF%FE")


@pytest.mark.parametrize("device", ["..", "", "a/b", ".hidden", "x" * 65, "d 0"])
def test_bad_devices(device: str) -> None:
    with pytest.raises(wire.InvalidName):
        wire.check_device(device)


def test_parts() -> None:
    assert wire.parse_part("0") == 0 and wire.parse_part("4294967295") == 2**32 - 1
    for bad in ("-1", "1.5", "", "4294967296", "99999999999"):
        with pytest.raises(wire.InvalidName):
            wire.parse_part(bad)


def test_metadata_limits() -> None:
    wire.check_metadata({f"k{i}": "v" for i in range(90)})
    for bad in (
        {f"k{i}": "v" for i in range(91)},
        {"k" * 257: "v"},
        {"k": "v" * 4097},
        {f"k{i}": "v" * 4000 for i in range(3)},
        {"": "v"},
    ):
        with pytest.raises(wire.InvalidName):
            wire.check_metadata(bad)


def test_metadata_headers_round_trip_at_the_limit() -> None:
    meta = {"X-Object-Meta-Big": "é" * 2048, "X-Object-Meta-Two": "ü" * 1900}
    headers = wire.pack_metadata(meta)
    assert len(headers) > 1 and all(len(v) <= 6000 for v in headers.values())
    assert wire.unpack_metadata(headers) == meta
    assert wire.pack_metadata({}) == {} and wire.unpack_metadata({}) == {}
    with pytest.raises(wire.InvalidName):
        wire.unpack_metadata({"X-Backend-Metadata-0": "!!notbase64"})


def test_hosts() -> None:
    assert wire.split_host("10.0.0.1:6200") == ("10.0.0.1", 6200)
    assert wire.split_host(wire.join_host("::1", 6200)) == ("::1", 6200)
    with pytest.raises(wire.InvalidName):
        wire.split_host("nohost")
