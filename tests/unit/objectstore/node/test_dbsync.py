"""Container/account replica digests and merges: order-free, idempotent, counted."""

from __future__ import annotations

import itertools

from objectstore.node import dbs, dbsync
from objectstore.node.device import Device
from objectstore.node.records import ContainerInfoRecord, ObjectRowRecord


def _info(put: int = 10, delete: int = 0, meta=None) -> ContainerInfoRecord:
    return ContainerInfoRecord("a", "c", put, delete, put, metadata=meta or {})


def _row(ts: int, size: int = 1, deleted: bool = False) -> bytes:
    return ObjectRowRecord(ts, size, "e" * 32, "t", deleted).encode()


async def _state(dev: Device) -> tuple[dict, ContainerInfoRecord]:
    owner = dev.hasher("a", "c", None)
    with dev.read() as txn:
        digests = dbsync.digests(txn, "c", 2)
        info = ContainerInfoRecord.decode(dbsync.info_raw(txn, "c", 2, owner))
    return digests, info


async def test_merges_converge_whatever_the_order(tmp_path) -> None:
    from objectstore.node.device import DeviceConfig, make_hasher

    rows = [(b"x", _row(5, 10)), (b"y", _row(6, 20)), (b"x", _row(7, 0, True)), (b"z", _row(8, 5))]
    results = []
    for i, order in enumerate(itertools.permutations(rows)):
        if i % 5:
            continue
        dev = Device(
            f"d{i}", str(tmp_path / f"d{i}"), make_hasher("p", "s"), DeviceConfig(engine="memory")
        )
        owner = dev.hasher("a", "c", None)
        for name, value in order:
            await dev.submit(dbsync.merge_op("c", 2, owner, _info(), [(name, value)]))
        await dev.submit(dbsync.merge_op("c", 2, owner, _info(), list(order)))  # replay
        results.append(await _state(dev))
        await dev.close()
    digests = {tuple(d.items()) for d, _ in results}
    assert len(digests) == 1
    for _, info in results:
        assert (info.object_count, info.bytes_used) == (2, 25)


async def test_info_merge_keeps_newest_of_each(device: Device) -> None:
    owner = device.hasher("a", "c", None)
    await device.submit(dbsync.merge_op("c", 2, owner, _info(10, meta={"k": ["1", 10]}), []))
    await device.submit(
        dbsync.merge_op("c", 2, owner, _info(5, 20, {"k": ["0", 5], "j": ["2", 6]}), [])
    )
    _, info = await _state(device)
    assert (info.put_timestamp, info.delete_timestamp) == (10, 20) and info.deleted
    assert info.metadata == {"k": ["1", 10], "j": ["2", 6]}
    with device.read() as txn:  # the reporter is told the container changed
        assert txn.get(dbs.CDIRTY, (2).to_bytes(4, "big") + owner) is not None


async def test_row_updates_from_clients_keep_the_digest(device: Device) -> None:
    """A container filled by row updates digests like one filled by replication."""
    from objectstore.client import ContainerRowUpdate
    from objectstore.timestamp import Timestamp

    owner = device.hasher("a", "c", None)
    ikey = (2).to_bytes(4, "big") + owner
    await device.submit(dbs.put_container_op(ikey, "a", "c", 10, {}, None))
    upd = ContainerRowUpdate(2, "a", "c", "x", Timestamp.from_ticks(50), 3, "e" * 32, "t", False)
    await device.submit(dbs.object_rows_op([(ikey, owner + b"x", upd)]))
    with device.read() as txn:
        mine = dbsync.digests(txn, "c", 2)[owner]
        info_raw = dbsync.info_raw(txn, "c", 2, owner)
        rows = list(dbsync.rows(txn, "c", owner, None))
    other = Device("o", device.root + "-o", device.hasher, device.config)
    try:
        await other.submit(
            dbsync.merge_op("c", 2, owner, ContainerInfoRecord.decode(info_raw), rows)
        )
        with other.read() as txn:
            assert dbsync.digests(txn, "c", 2)[owner] == mine
    finally:
        await other.close()
