"""Object index on a device: durability order, last writer wins, tombstones,
inline vs file bodies, group commit (LMDB and in-memory engines)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from objectstore.node import objects
from objectstore.node.device import Device
from objectstore.node.errors import Missing, StaleWrite
from objectstore.node.records import FILE, INLINE, ObjectRecord, PendingRecord


def _rec(ticks: int, **kw) -> ObjectRecord:
    return ObjectRecord("a/c/o", ticks, **kw)


async def _put_bytes(
    dev: Device, key: bytes, ticks: int, body: bytes, pending=None
) -> ObjectRecord:
    """What the PUT handler does: sink, durable body first, then the index commit."""
    sink = dev.new_sink()
    sink.write(body)
    inline, rel = sink.inline, ""
    if inline is None:
        rel = await dev.commit_body(sink, 0, key, str(ticks))
    rec = _rec(
        ticks, size=len(body), etag=sink.etag, kind=INLINE if inline is not None else FILE, path=rel
    )
    await dev.submit(objects.put_op(dev.root, key, rec, inline, pending))
    return rec


def _read(dev: Device, key: bytes) -> objects.Found:
    with dev.read() as txn:
        return objects.read_object(txn, key, with_body=True)


async def test_small_body_is_inline_large_body_is_a_file(device: Device) -> None:
    small, large = device.object_key(0, "a", "c", "s"), device.object_key(0, "a", "c", "l")
    await _put_bytes(device, small, 10, b"x" * 100)  # threshold is 100: inline
    await _put_bytes(device, large, 10, b"y" * 101)
    got = _read(device, small)
    assert got.record.kind == INLINE and got.body == b"x" * 100
    got = _read(device, large)
    assert got.record.kind == FILE and got.body is None
    with open(device.body_path(got.record.path), "rb") as fh:
        assert fh.read() == b"y" * 101
    assert os.listdir(os.path.join(device.root, "tmp")) == []


async def test_file_body_is_in_place_before_the_index_names_it(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    sink = device.new_sink()
    sink.write(b"z" * 500)
    rel = await device.commit_body(sink, 0, key, "1")
    assert os.path.exists(device.body_path(rel))  # durable file first ...
    with pytest.raises(Missing):
        _read(device, key)  # ... the index does not know it yet
    rec = _rec(5, size=500, etag=sink.etag, kind=FILE, path=rel)
    await device.submit(objects.put_op(device.root, key, rec, None, None))
    assert _read(device, key).record.path == rel


async def test_last_writer_wins(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    await _put_bytes(device, key, 20, b"new")
    for ticks in (19, 20):  # older, and the same instant
        with pytest.raises(StaleWrite) as err:
            await _put_bytes(device, key, ticks, b"old")
        assert err.value.ticks == 20
    assert _read(device, key).body == b"new"
    await _put_bytes(device, key, 21, b"newer")
    assert _read(device, key).body == b"newer"


async def test_old_body_file_removed_after_newer_version_commits(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    v1 = await _put_bytes(device, key, 1, b"1" * 500)
    v2 = await _put_bytes(device, key, 2, b"2" * 500)
    assert not os.path.exists(device.body_path(v1.path))
    assert os.path.exists(device.body_path(v2.path))
    await _put_bytes(device, key, 3, b"inline")
    assert not os.path.exists(device.body_path(v2.path))
    assert _read(device, key).body == b"inline"


async def test_delete_writes_a_tombstone_that_orders_later_writes(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    v1 = await _put_bytes(device, key, 10, b"b" * 300)
    assert await device.submit(objects.delete_op(device.root, key, "a/c/o", 11, None)) is True
    with pytest.raises(Missing) as err:
        _read(device, key)
    assert err.value.ticks == 11
    assert not os.path.exists(device.body_path(v1.path))
    with pytest.raises(StaleWrite):
        await _put_bytes(device, key, 10, b"late")  # older than the tombstone
    with pytest.raises(StaleWrite):
        await device.submit(objects.delete_op(device.root, key, "a/c/o", 9, None))
    # Deleting what is not there still records the tombstone, and says so.
    assert await device.submit(objects.delete_op(device.root, key, "a/c/o", 12, None)) is False
    with pytest.raises(Missing) as err:
        _read(device, key)
    assert err.value.ticks == 12
    await _put_bytes(device, key, 13, b"again")
    assert _read(device, key).body == b"again"


async def test_post_replaces_metadata_and_respects_order(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    with pytest.raises(Missing):
        await device.submit(objects.post_op(key, 5, {}, None, None))
    await _put_bytes(device, key, 10, b"x")
    await device.submit(objects.post_op(key, 11, {"X-Object-Meta-A": "1"}, "text/x", None))
    rec = _read(device, key).record
    assert rec.metadata == {"X-Object-Meta-A": "1"} and rec.content_type == "text/x"
    assert rec.meta_timestamp == 11 and rec.timestamp == 10
    with pytest.raises(StaleWrite):
        await device.submit(objects.post_op(key, 11, {"X-Object-Meta-B": "2"}, None, None))
    assert _read(device, key).record.metadata == {"X-Object-Meta-A": "1"}


async def test_expired_object_is_missing(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    rec = _rec(10, size=1, kind=INLINE, delete_at=int(time.time()) - 1)
    await device.submit(objects.put_op(device.root, key, rec, b"x", None))
    with pytest.raises(Missing):
        _read(device, key)


async def test_concurrent_writes_share_commits(device: Device) -> None:
    keys = [device.object_key(0, "a", "c", f"o{i}") for i in range(50)]
    before = device.committer.commits
    await asyncio.gather(*(_put_bytes(device, k, 10, b"v") for k in keys))
    commits = device.committer.commits - before
    assert 1 <= commits <= 3, commits  # 50 writes, a handful of fsyncs
    for k in keys:
        assert _read(device, k).body == b"v"


async def test_refused_op_does_not_spoil_its_batch(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    await _put_bytes(device, key, 10, b"kept")
    others = [device.object_key(0, "a", "c", f"n{i}") for i in range(5)]
    results = await asyncio.gather(
        _put_bytes(device, key, 5, b"stale"),
        *(_put_bytes(device, k, 10, b"fresh") for k in others),
        return_exceptions=True,
    )
    assert isinstance(results[0], StaleWrite)
    assert all(isinstance(r, ObjectRecord) for r in results[1:])
    assert _read(device, key).body == b"kept"


async def test_pending_update_is_queued_with_the_object(device: Device) -> None:
    key = device.object_key(0, "a", "c", "o")
    pkey = objects.pending_key(key, 10)
    pending = (
        pkey,
        PendingRecord(["127.0.0.1", 1, "d0"], [0, "a", "c", "o", 10, 1, "e", "t", False]),
    )
    await _put_bytes(device, key, 10, b"x", pending)
    with device.read() as txn:
        queued = objects.scan_pending(txn, 10)
    assert [k for k, _ in queued] == [pkey]
    assert queued[0][1].row[1:4] == ["a", "c", "o"]
    await device.submit(objects.remove_pending_op(pkey))
    with device.read() as txn:
        assert objects.scan_pending(txn, 10) == []
