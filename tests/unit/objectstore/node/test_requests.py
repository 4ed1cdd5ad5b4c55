"""Reading node requests: ranges, listing queries, timestamps."""

from __future__ import annotations

import pytest

from objectstore.common import wire
from objectstore.node import requests


@pytest.mark.parametrize(
    "header,expected",
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole body
        ("items=0-1", None),
        ("bytes=9-3", None),
        ("bytes=x-y", None),
        ("bytes=-", None),
        ("bytes=+1-2", None),
    ],
)
def test_byte_range(header, expected) -> None:
    assert requests.byte_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=200-300"])
def test_unsatisfiable_range(header: str) -> None:
    with pytest.raises(requests.BadRange):
        requests.byte_range(header, 100)


def test_empty_object_has_no_satisfiable_range() -> None:
    for header in ("bytes=0-", "bytes=-1"):
        with pytest.raises(requests.BadRange):
            requests.byte_range(header, 0)


def test_listing_query() -> None:
    q = requests.listing_query({"prefix": "p", "limit": "99999", "reverse": "true"})
    assert (q.prefix, q.limit, q.reverse, q.path) == ("p", wire.MAX_LISTING_LIMIT, True, None)
    for bad in ({"limit": "-1"}, {"marker": "x" * 1025}, {"prefix": "a\x00"}):
        with pytest.raises(wire.InvalidName):
            requests.listing_query(bad)


def test_timestamp_is_required_and_checked() -> None:
    assert requests.timestamp({"X-Timestamp": "1700000000.12345"}).ticks == 170000000012345
    for bad in ({}, {"X-Timestamp": "soon"}, {"X-Timestamp": "-5"}):
        with pytest.raises(wire.InvalidName):
            requests.timestamp(bad)


def test_update_target() -> None:
    headers = {
        "X-Container-Host": "127.0.0.1:6201",
        "X-Container-Device": "d1",
        "X-Container-Partition": "7",
    }
    target, part = requests.update_target(headers, "Container")
    assert (target.ip, target.port, target.device, part) == ("127.0.0.1", 6201, "d1", 7)
    assert requests.update_target({}, "Container") is None
    with pytest.raises(wire.InvalidName):
        requests.update_target({**headers, "X-Container-Device": "../x"}, "Container")
