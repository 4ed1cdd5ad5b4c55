"""Container and account databases: idempotent, timestamp-ordered rows and stats."""

from __future__ import annotations

import pytest

from objectstore.client import AccountRowUpdate, ContainerRowUpdate
from objectstore.node import dbs
from objectstore.node.device import Device
from objectstore.node.errors import Missing, NotEmpty, StaleWrite
from objectstore.node.records import visible_metadata
from objectstore.timestamp import Timestamp

T = Timestamp.from_ticks


async def _container(dev: Device, ticks: int = 100, meta=None, c: str = "c") -> bytes:
    ikey, _ = dev.container_keys(0, "a", c)
    await dev.submit(dbs.put_container_op(ikey, "a", c, ticks, meta or {}, ["h", 1, "d0", 3]))
    return ikey


async def _rows(dev: Device, *rows: tuple[str, int, int, bool]) -> list[int]:
    items = []
    for name, ticks, size, deleted in rows:
        ikey, owner = dev.container_keys(0, "a", "c")
        upd = ContainerRowUpdate(0, "a", "c", name, T(ticks), size, "e", "t", deleted)
        items.append((ikey, owner + name.encode(), upd))
    return await dev.submit(dbs.object_rows_op(items))


def _info(dev: Device, ikey: bytes):
    with dev.read() as txn:
        return dbs.read_container(txn, ikey)


async def test_put_container_creates_then_restamps_and_merges_metadata(device: Device) -> None:
    ikey, _ = device.container_keys(0, "a", "c")
    assert await device.submit(dbs.put_container_op(ikey, "a", "c", 100, {"X-A": "1"}, None))
    assert not await device.submit(dbs.put_container_op(ikey, "a", "c", 101, {"X-B": "2"}, None))
    await device.submit(dbs.post_container_op(ikey, 102, {"X-A": "", "X-Container-Read": ".r:*"}))
    await device.submit(dbs.post_container_op(ikey, 99, {"X-B": "stale"}))  # older: loses per key
    info = _info(device, ikey)
    assert info.put_timestamp == 101 and info.created_at == 100
    assert visible_metadata(info.metadata) == {"X-B": "2", "X-Container-Read": ".r:*"}


async def test_object_rows_count_bytes_and_are_idempotent(device: Device) -> None:
    ikey = await _container(device)
    assert await _rows(device, ("o1", 10, 5, False), ("o2", 10, 7, False)) == [201, 201]
    assert await _rows(device, ("o1", 10, 5, False)) == [202]  # replay: no change
    assert await _rows(device, ("o1", 9, 999, False)) == [202]  # older: ignored
    info = _info(device, ikey)
    assert (info.object_count, info.bytes_used) == (2, 12)
    assert await _rows(device, ("o1", 11, 50, False)) == [201]  # overwrite
    assert await _rows(device, ("o2", 12, 0, True)) == [204]  # delete
    assert await _rows(device, ("o2", 12, 0, True)) == [202]
    info = _info(device, ikey)
    assert (info.object_count, info.bytes_used, info.stats_timestamp) == (1, 50, 12)


async def test_rows_for_a_missing_container_are_refused(device: Device) -> None:
    assert await _rows(device, ("o", 10, 1, False)) == [404]


async def test_delete_container_only_when_empty(device: Device) -> None:
    ikey = await _container(device)
    await _rows(device, ("o", 110, 1, False))
    with pytest.raises(NotEmpty):
        await device.submit(dbs.delete_container_op(ikey, 200, None))
    await _rows(device, ("o", 120, 0, True))
    with pytest.raises(StaleWrite):
        await device.submit(dbs.delete_container_op(ikey, 100, None))  # not newer than the PUT
    await device.submit(dbs.delete_container_op(ikey, 200, None))
    with pytest.raises(Missing) as err:
        _info(device, ikey)
    assert err.value.ticks == 200
    assert await _rows(device, ("late", 210, 1, False)) == [404]  # deleted: like Swift
    with pytest.raises(StaleWrite):
        await device.submit(dbs.put_container_op(ikey, "a", "c", 150, {}, None))
    assert await device.submit(dbs.put_container_op(ikey, "a", "c", 300, {}, None)) is True
    assert _info(device, ikey).created_at == 300


async def test_stats_changes_are_marked_for_the_account(device: Device) -> None:
    ikey = await _container(device)
    with device.read() as txn:
        marked = dbs.scan_dirty(txn, 10)
    assert [m[0] for m in marked] == [ikey]
    stamp = marked[0][1]
    await _rows(device, ("o", 110, 3, False))  # changes again: a new stamp
    await device.submit(dbs.clear_dirty_op([(ikey, stamp)]))
    with device.read() as txn:
        marked = dbs.scan_dirty(txn, 10)
    assert len(marked) == 1 and marked[0][2].object_count == 1
    with device.read() as txn:
        assert dbs.scan_dirty(txn, 10, only=ikey) == marked
        assert dbs.scan_dirty(txn, 10, only=b"\0" * 20) == []
    await device.submit(dbs.clear_dirty_op([(ikey, marked[0][1])]))
    with device.read() as txn:
        assert dbs.scan_dirty(txn, 10) == []


async def _acct_rows(dev: Device, *rows: AccountRowUpdate) -> list[int]:
    items = []
    for upd in rows:
        ikey, owner = dev.account_keys(0, upd.account)
        items.append((ikey, owner + upd.container.encode(), upd))
    return await dev.submit(dbs.container_rows_op(items))


def _arow(c: str, put: int, count: int, used: int, stats: int, dele: int = 0) -> AccountRowUpdate:
    return AccountRowUpdate(0, "a", c, T(put), T(dele) if dele else None, count, used, T(stats))


async def test_account_rows_aggregate_and_order_by_timestamps(device: Device) -> None:
    ikey, _ = device.account_keys(0, "a")
    assert await _acct_rows(device, _arow("c1", 100, 2, 20, 110), _arow("c2", 100, 1, 5, 100)) == [
        201,
        201,
    ]
    assert await _acct_rows(device, _arow("c1", 100, 9, 90, 105)) == [202]  # stale stats
    with device.read() as txn:
        info = dbs.read_account(txn, ikey)  # created on first use
    assert (info.container_count, info.object_count, info.bytes_used) == (2, 3, 25)
    await _acct_rows(device, _arow("c2", 100, 0, 0, 120, dele=130))
    with device.read() as txn:
        info = dbs.read_account(txn, ikey)
    assert (info.container_count, info.object_count, info.bytes_used) == (1, 2, 20)


async def test_account_put_post_delete(device: Device) -> None:
    ikey, _ = device.account_keys(0, "a")
    assert await device.submit(dbs.put_account_op(ikey, "a", 10, {"X-Account-Meta-Q": "1"}))
    assert not await device.submit(dbs.put_account_op(ikey, "a", 11, {}))
    await device.submit(dbs.post_account_op(ikey, 12, {"X-Account-Meta-Q": "2"}))
    with device.read() as txn:
        assert visible_metadata(dbs.read_account(txn, ikey).metadata) == {"X-Account-Meta-Q": "2"}
    with pytest.raises(StaleWrite):
        await device.submit(dbs.delete_account_op(ikey, 5))
    await device.submit(dbs.delete_account_op(ikey, 20))
    with device.read() as txn, pytest.raises(Missing):
        dbs.read_account(txn, ikey)
