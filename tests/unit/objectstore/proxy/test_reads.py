"""Choosing the newest answer, and slicing ranges out of one open body."""

from __future__ import annotations

import time
from collections import namedtuple

import pytest

from objectstore import client as nc
from objectstore.proxy import errors
from objectstore.proxy.reads import Answer, Located, ObjectBody, _decide
from objectstore.timestamp import Timestamp

Dev = namedtuple("Dev", "ip port device")
A, B, C = (Dev("127.0.0.1", 6000 + i, "d") for i in range(3))
T1, T2, T3 = Timestamp("1700000001"), Timestamp("1700000002"), Timestamp("1700000003")


def info(ts: Timestamp, meta: Timestamp | None = None, **kw) -> nc.ObjectInfo:
    return nc.ObjectInfo(ts, kw.pop("size", 3), "e", "t", meta_timestamp=meta, **kw)


class Stream:
    """An open node body: chunks, and whether it was closed."""

    def __init__(self, data: bytes, chunk: int, ts: Timestamp = T1) -> None:
        self.data, self.chunk, self.closed = data, chunk, False
        self.info = info(ts, size=len(data))

    async def iter_chunks(self, size: int = 65536):
        for i in range(0, len(self.data), self.chunk):
            yield self.data[i : i + self.chunk]

    def close(self) -> None:
        self.closed = True


def test_newest_data_wins() -> None:
    old = Stream(b"old", 3, T1)
    loc = _decide([Answer(A, old.info, stream=old), Answer(B, info(T2))], [], 7, True)
    assert loc.info.timestamp == T2 and loc.holders == [B]
    assert loc.stream is None and old.closed


def test_same_data_newer_metadata_keeps_the_open_body() -> None:
    s = Stream(b"abc", 3, T1)
    loc = _decide([Answer(A, s.info, stream=s), Answer(B, info(T1, T3))], [], 7, True)
    assert loc.stream is s and loc.info.meta_timestamp == T3
    assert loc.holders == [A, B]


def test_tombstones_count() -> None:
    s = Stream(b"abc", 3, T1)
    with pytest.raises(errors.ObjectNotFound):
        _decide([Answer(A, s.info, stream=s), Answer(B, tombstone=T2)], [], 7, True)
    assert s.closed
    loc = _decide([Answer(A, info(T2)), Answer(B, tombstone=T1)], [], 7, False)
    assert loc.info.timestamp == T2


def test_expired_and_missing() -> None:
    with pytest.raises(errors.ObjectNotFound):
        _decide([Answer(A, info(T1, delete_at=int(time.time()) - 1))], [], 7, False)
    with pytest.raises(errors.ObjectNotFound):
        _decide([Answer(A), Answer(B)], [], 7, False)
    with pytest.raises(errors.ServiceUnavailable):
        _decide([], [nc.NodeUnavailable("x", "down")], 7, False)
    with pytest.raises(errors.InvalidInput):
        _decide([], [nc.BadRequest(400, "bad name")], 7, False)


def _body(data: bytes, chunk: int) -> ObjectBody:
    s = Stream(data, chunk)
    return ObjectBody(None, ("a", "c", "o"), Located(s.info, 7, [A], s), None)  # type: ignore[arg-type]


async def _collect(it) -> bytes:
    return b"".join([x async for x in it])


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
async def test_forward_ranges_come_from_one_stream(chunk: int) -> None:
    data = bytes(range(256))
    body = _body(data, chunk)
    body.select([(3, 9), (10, 10), (100, 199), (250, None)])
    got = [await _collect(body.range_chunks(s, e)) for s, e in body.ranges]
    assert got == [data[3:10], data[10:11], data[100:200], data[250:]]


async def test_whole_body_and_single_range() -> None:
    data = b"0123456789"
    assert await _body(data, 4).read() == data
    body = _body(data, 4)
    body.select([(None, 3)])
    assert await body.read() == b"789"
    body = _body(data, 4)
    with pytest.raises(errors.RangeNotSatisfiable) as err:
        body.select([(10, 20)])
    assert err.value.size == 10
