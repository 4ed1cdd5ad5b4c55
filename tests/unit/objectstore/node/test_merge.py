"""Merging replicated entries: newest data wins, newest metadata wins, nothing else moves."""

from __future__ import annotations

from objectstore.node import merge, objects
from objectstore.node.device import Device
from objectstore.node.records import INLINE, TOMBSTONE, ObjectRecord

KEY = (1).to_bytes(4, "big") + b"k" * 16


def _data(ts: int, mts: int = 0, meta: dict | None = None, delete_at=None) -> ObjectRecord:
    return ObjectRecord("a/c/o", ts, 3, "e" * 32, "t", meta or {}, delete_at, INLINE, "", mts)


def _read(dev: Device) -> ObjectRecord | None:
    with dev.read() as txn:
        raw = txn.get(objects.OBJECTS, KEY)
        return ObjectRecord.decode(raw) if raw is not None else None


async def _merge(dev: Device, rec: ObjectRecord, body: bytes | None = b"abc", **kw) -> int:
    return await dev.submit(merge.merge_op(dev.root, KEY, rec, body, **kw))


async def test_newer_data_replaces_and_older_is_refused(device: Device) -> None:
    assert await _merge(device, _data(10)) == merge.STORED
    assert await _merge(device, _data(5)) == merge.UP_TO_DATE
    assert await _merge(device, _data(10)) == merge.UP_TO_DATE
    assert await _merge(device, ObjectRecord("a/c/o", 20)) == merge.STORED  # tombstone
    assert _read(device).kind == TOMBSTONE
    assert await _merge(device, _data(15)) == merge.UP_TO_DATE  # no resurrection


async def test_metadata_merges_on_its_own_clock(device: Device) -> None:
    await _merge(device, _data(10, meta={"v": "put"}))
    assert (
        await _merge(device, _data(10, 30, {"v": "post"}, 999), None, meta_only=True) == merge.META
    )
    got = _read(device)
    assert (got.metadata, got.meta_timestamp, got.delete_at) == ({"v": "post"}, 30, 999)
    # Newer data arriving with older metadata keeps the newer POST here.
    assert await _merge(device, _data(20, 0, {"v": "put2"})) == merge.STORED
    got = _read(device)
    assert (got.timestamp, got.metadata, got.meta_timestamp) == (20, {"v": "post"}, 30)
    with device.read() as txn:  # the kept delete-at is indexed for the expirer
        assert txn.get(objects.EXPIRY, objects.expiry_key(999, KEY)) is not None


async def test_metadata_alone_cannot_create_data(device: Device) -> None:
    assert await _merge(device, _data(10, 30), None, meta_only=True) == merge.NEED_BODY
    assert _read(device) is None


async def test_remove_synced_drops_only_what_was_confirmed(device: Device) -> None:
    await _merge(device, _data(10))
    stale = merge.Seen(KEY, 9, 0)
    assert await device.submit(merge.remove_synced_op(device.root, [stale])) == 0
    assert _read(device) is not None
    seen = merge.Seen(KEY, 10, 0)
    assert await device.submit(merge.remove_synced_op(device.root, [seen])) == 1
    assert _read(device) is None
    with device.read() as txn:  # the partition is gone: so is its hash cache entry
        assert txn.get(objects.HASHES, KEY[:4]) is None


async def test_expire_writes_the_agreed_tombstone(device: Device) -> None:
    await _merge(device, _data(10, delete_at=1))
    assert await device.submit(merge.expire_op(device.root, KEY, 2, 500, None)) is None
    assert await device.submit(merge.expire_op(device.root, KEY, 1, 500, None)) == 500
    got = _read(device)
    assert got.kind == TOMBSTONE and got.timestamp == 500
    with device.read() as txn:
        assert txn.get(objects.EXPIRY, objects.expiry_key(1, KEY)) is None
