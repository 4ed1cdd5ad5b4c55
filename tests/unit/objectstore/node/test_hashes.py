"""Suffix hashes: equal versions hash equal, every write spoils the cache, races lose."""

from __future__ import annotations

import pytest

from objectstore.node import hashes, objects
from objectstore.node.device import Device
from objectstore.node.records import TOMBSTONE, ObjectRecord


def _key(part: int, n: int) -> bytes:
    return part.to_bytes(4, "big") + n.to_bytes(16, "big")


async def _put(dev: Device, key: bytes, ticks: int, mts: int = 0) -> None:
    rec = ObjectRecord("a/c/o", ticks, 1, "e" * 32, kind=1, meta_timestamp=mts)
    await dev.submit(objects.put_op(dev.root, key, rec, b"x", None))


async def test_hashes_follow_the_versions_and_are_cached(device: Device) -> None:
    assert await hashes.get_hashes(device, 3, 0) == {}
    await _put(device, _key(3, 1), 100)
    await _put(device, _key(3, 2), 100)
    await _put(device, _key(4, 1), 100)  # another partition
    first = await hashes.get_hashes(device, 3, 0)
    assert set(first) == {1, 2}
    with device.read() as txn:
        seen, cached = hashes.read_cache(txn, 3)
    assert cached == first and seen is not None and seen[:1] == b"\x01"
    # A POST (metadata timestamp) changes the suffix hash: the cache is spoilt at once.
    await device.submit(objects.post_op(_key(3, 2), 200, {"m": "1"}, None, None))
    with device.read() as txn:
        assert hashes.read_cache(txn, 3)[1] is None
    second = await hashes.get_hashes(device, 3, 0)
    assert second[1] == first[1] and second[2] != first[2]


async def test_a_write_racing_a_recomputation_is_not_hidden(device: Device) -> None:
    await _put(device, _key(5, 1), 100)
    with device.read() as txn:
        seen, _ = hashes.read_cache(txn, 5)
        computed, reclaim = hashes.compute(txn, 5, 0)
    await _put(device, _key(5, 9), 100)  # lands between the snapshot and the caching
    assert not await device.submit(hashes.finish_op(device.root, 5, seen, computed, reclaim))
    assert set(await hashes.get_hashes(device, 5, 0)) == {1, 9}


async def test_same_versions_hash_the_same_whatever_the_layout(tmp_path) -> None:
    from objectstore.node.device import DeviceConfig, make_hasher

    devs = [
        Device(
            n,
            str(tmp_path / n),
            make_hasher("p", "s"),
            DeviceConfig(inline_threshold=t, engine="memory"),
        )
        for n, t in (("a", 0), ("b", 1 << 20))
    ]
    try:
        for dev in devs:
            sink = dev.new_sink()
            sink.write(b"body" * 10)
            inline, rel = sink.inline, ""
            if inline is None:
                rel = await dev.commit_body(sink, 0, _key(0, 7), "1")
            rec = ObjectRecord(
                "a/c/o", 50, 40, sink.etag, kind=1 if inline is not None else 2, path=rel
            )
            await dev.submit(objects.put_op(dev.root, _key(0, 7), rec, inline, None))
        a, b = [await hashes.get_hashes(d, 0, 0) for d in devs]
        assert a == b
    finally:
        for dev in devs:
            await dev.close()


async def test_old_tombstones_are_left_out_and_reclaimed(device: Device) -> None:
    await device.submit(objects.delete_op(device.root, _key(2, 1), "a/c/o", 10, None))
    await device.submit(objects.delete_op(device.root, _key(2, 2), "a/c/o", 1000, None))
    assert set(await hashes.get_hashes(device, 2, reclaim_before=500)) == {2}
    with device.read() as txn:
        left = [(k, r.kind) for k, r in hashes.partition_records(txn, 2)]
        assert hashes.entries(txn, 2, range(256), 500)[0][0] == _key(2, 2)
    assert left == [(_key(2, 2), TOMBSTONE)]


async def test_partitions_are_found_by_seeking(device: Device) -> None:
    for part, n in ((0, 1), (7, 1), (7, 2), (300, 1)):
        await _put(device, _key(part, n), 100)
    with device.read() as txn:
        assert list(hashes.partitions(txn)) == [0, 7, 300]


@pytest.mark.parametrize(
    "local,remote,diff",
    [({}, {}, []), ({1: 5}, {1: 5}, []), ({1: 5, 2: 6}, {1: 4, 3: 1}, [1, 2, 3])],
)
def test_differing(local, remote, diff) -> None:
    assert hashes.differing(local, remote) == diff
