"""Listing scans: prefix, delimiter, marker, end_marker, reverse, limit, path."""

from __future__ import annotations

import pytest

from objectstore.client import ContainerRowUpdate
from objectstore.node import dbs
from objectstore.node.device import Device
from objectstore.node.listing import ListQuery, list_rows
from objectstore.node.records import ObjectRowRecord
from objectstore.timestamp import Timestamp

NAMES = ["a", "a/1", "a/2", "a/b/1", "b", "b/1", "c.txt", "d/x", "é", "ü/1"]


def _row(name: str, value: bytes):
    rec = ObjectRowRecord.decode(value)
    return None if rec.deleted else name


@pytest.fixture
async def listed(device: Device) -> Device:
    ikey, owner = device.container_keys(0, "a", "c")
    await device.submit(dbs.put_container_op(ikey, "a", "c", 1, {}, None))
    items = [
        (
            ikey,
            owner + n.encode(),
            ContainerRowUpdate(0, "a", "c", n, Timestamp(10), 1, "", "", False),
        )
        for n in [*NAMES, "gone/1", "zz"]
    ]
    items += [
        (
            ikey,
            owner + n.encode(),
            ContainerRowUpdate(0, "a", "c", n, Timestamp(11), 0, "", "", True),
        )
        for n in ("gone/1", "zz")
    ]
    await device.submit(dbs.object_rows_op(items))
    return device


def _list(dev: Device, **kw) -> list:
    _, owner = dev.container_keys(0, "a", "c")
    with dev.read() as txn:
        return list_rows(txn, dbs.CROWS, owner, ListQuery(**kw), _row)


@pytest.mark.parametrize(
    "kw,expected",
    [
        ({}, NAMES),
        ({"limit": 3}, NAMES[:3]),
        ({"limit": 0}, []),
        ({"prefix": "a/"}, ["a/1", "a/2", "a/b/1"]),
        ({"marker": "b"}, NAMES[5:]),
        ({"end_marker": "b"}, NAMES[:4]),
        ({"marker": "a/1", "end_marker": "b/1"}, ["a/2", "a/b/1", "b"]),
        ({"delimiter": "/"}, ["a", "a/", "b", "b/", "c.txt", "d/", "é", "ü/"]),
        ({"prefix": "a/", "delimiter": "/"}, ["a/1", "a/2", "a/b/"]),
        ({"delimiter": "/", "marker": "a/"}, ["b", "b/", "c.txt", "d/", "é", "ü/"]),
        ({"delimiter": "/", "limit": 2}, ["a", "a/"]),
        ({"reverse": True}, NAMES[::-1]),
        ({"reverse": True, "limit": 2}, ["ü/1", "é"]),
        ({"reverse": True, "marker": "b"}, ["a/b/1", "a/2", "a/1", "a"]),
        ({"reverse": True, "end_marker": "c.txt"}, ["ü/1", "é", "d/x"]),
        ({"reverse": True, "prefix": "a/"}, ["a/b/1", "a/2", "a/1"]),
        ({"reverse": True, "delimiter": "/"}, ["ü/", "é", "d/", "c.txt", "b/", "b", "a/", "a"]),
        ({"path": "a"}, ["a/1", "a/2"]),
        ({"prefix": "zz"}, []),
        ({"prefix": "gone", "delimiter": "/"}, []),  # only deleted rows: no subdir either
    ],
)
async def test_listing(listed: Device, kw: dict, expected: list) -> None:
    assert _list(listed, **kw) == expected


async def test_listing_is_scoped_to_its_container(listed: Device) -> None:
    ikey, owner = listed.container_keys(0, "a", "other")
    await listed.submit(dbs.put_container_op(ikey, "a", "other", 1, {}, None))
    with listed.read() as txn:
        assert list_rows(txn, dbs.CROWS, owner, ListQuery(), _row) == []
        assert list_rows(txn, dbs.CROWS, owner, ListQuery(reverse=True), _row) == []
