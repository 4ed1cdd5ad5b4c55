"""Container and account endpoints of a real node; account stats converge."""

from __future__ import annotations

import asyncio

import pytest

from objectstore.client import (
    AccountUpdate,
    Conflict,
    ContainerUpdate,
    InsufficientStorage,
    NodeClient,
    NotFound,
    SubdirRow,
)
from objectstore.node.device import DeviceConfig
from objectstore.timestamp import Timestamp

A = "AUTH_dbs"


async def _obj(client: NodeClient, dev, name: str, body: bytes, update) -> None:
    await client.put_object(
        dev,
        3,
        A,
        "c",
        name,
        timestamp=Timestamp.now(),
        body=body,
        content_length=len(body),
        content_type="t/x",
        metadata={},
        container_update=update,
    )


async def test_container_lifecycle_and_listing(start_node, client: NodeClient) -> None:
    node = await start_node()
    dev = node.dev()
    with pytest.raises(NotFound):
        await client.head_container(dev, 5, A, "c")
    meta = {"X-Container-Read": ".r:*", "X-Container-Meta-Q": "é"}
    assert await client.put_container(dev, 5, A, "c", timestamp=Timestamp.now(), metadata=meta)
    assert not await client.put_container(dev, 5, A, "c", timestamp=Timestamp.now())
    await client.post_container(
        dev, 5, A, "c", timestamp=Timestamp.now(), metadata={"X-Container-Meta-Q": ""}
    )
    info = await client.head_container(dev, 5, A, "c")
    assert info.metadata == {"X-Container-Read": ".r:*"} and info.object_count == 0
    update = ContainerUpdate(dev, 5)
    for name in ("a/1", "a/2", "b"):
        await _obj(client, dev, name, b"xy", update)
    rows = await client.list_objects(dev, 5, A, "c", delimiter="/")
    assert rows == [SubdirRow("a/"), rows[1]] and rows[1].name == "b"
    assert [r.name for r in await client.list_objects(dev, 5, A, "c", reverse=True, limit=2)] == [
        "b",
        "a/2",
    ]
    assert [
        r.name for r in await client.list_objects(dev, 5, A, "c", prefix="a/", marker="a/1")
    ] == ["a/2"]
    with pytest.raises(Conflict):  # not empty
        await client.delete_container(dev, 5, A, "c", timestamp=Timestamp.now())
    for name in ("a/1", "a/2", "b"):
        await client.delete_object(
            dev, 3, A, "c", name, timestamp=Timestamp.now(), container_update=update
        )
    del_ts = Timestamp.now()
    await client.delete_container(dev, 5, A, "c", timestamp=del_ts)
    with pytest.raises(NotFound) as err:
        await client.head_container(dev, 5, A, "c")
    assert err.value.timestamp is not None
    with pytest.raises(NotFound):
        await client.list_objects(dev, 5, A, "c")


async def test_account_stats_converge(start_node, client: NodeClient) -> None:
    cnode, anode = await start_node(), await start_node()
    adev, cdev = anode.dev(), cnode.dev()
    acct = AccountUpdate(adev, 9)
    await client.put_account(
        adev, 9, A, timestamp=Timestamp.now(), metadata={"X-Account-Meta-K": "v"}
    )
    await client.put_container(cdev, 5, A, "c", timestamp=Timestamp.now(), account_update=acct)
    listing = await client.list_containers(adev, 9, A)  # reported before the PUT answered
    assert [r.name for r in listing] == ["c"] and listing.info.container_count == 1
    assert listing.info.metadata == {"X-Account-Meta-K": "v"}
    update = ContainerUpdate(cdev, 5)
    await asyncio.gather(*(_obj(client, cnode.dev(), f"o{i}", b"x" * i, update) for i in range(10)))
    for _ in range(100):  # bounded: debounced stats reach the account node
        info = await client.head_account(adev, 9, A)
        if info.object_count == 10:
            break
        await asyncio.sleep(0.05)
    assert (info.object_count, info.bytes_used) == (10, 45)
    row = (await client.list_containers(adev, 9, A))[0]
    assert (row.object_count, row.bytes_used) == (10, 45)
    for i in range(10):
        await client.delete_object(
            cnode.dev(), 3, A, "c", f"o{i}", timestamp=Timestamp.now(), container_update=update
        )
    await client.delete_container(cdev, 5, A, "c", timestamp=Timestamp.now(), account_update=acct)
    info = await client.head_account(adev, 9, A)
    assert (info.container_count, info.object_count) == (0, 0)
    assert list(await client.list_containers(adev, 9, A)) == []


async def test_507_for_unmounted_full_or_unknown_devices(
    start_node, client: NodeClient, tmp_path
) -> None:
    root = tmp_path / "devs"
    (root / "d0").mkdir(parents=True)  # d1 is not there: unmounted
    node = await start_node(("d0", "d1"), root=root, mount_check=True)
    with pytest.raises(InsufficientStorage):
        await _obj(client, node.dev("d1"), "o", b"x", None)
    with pytest.raises(InsufficientStorage):
        await client.head_container(node.dev("d1"), 5, A, "c")
    with pytest.raises(InsufficientStorage):
        await client.head_object(node.dev("d9"), 5, A, "c", "o")  # not this node's device
    await _obj(client, node.dev("d0"), "o", b"x", None)
    full = await start_node(device=DeviceConfig(reserve_bytes=1 << 62))
    with pytest.raises(InsufficientStorage):
        await _obj(client, full.dev(), "o", b"x", None)
    tiny = await start_node(device=DeviceConfig(inline_threshold=65536, map_size=1 << 20))
    with pytest.raises(InsufficientStorage):  # the index itself is full
        for i in range(40):  # bounded: 40 x 60 KiB cannot fit in a 1 MiB map
            await _obj(client, tiny.dev(), f"o{i}", bytes(60000), None)
    # The operator's hook: take a device out of service at run time.
    node.state.devices["d0"].unavailable = "taken out by test"
    with pytest.raises(InsufficientStorage):
        await client.head_object(node.dev("d0"), 3, A, "c", "o")


async def test_awkward_names_round_trip_through_paths_and_queries(
    start_node, client: NodeClient
) -> None:
    node = await start_node()
    dev = node.dev()
    await client.put_container(dev, 5, A, "c", timestamp=Timestamp.now())
    names = ["100% a+b&c=d?#x", "sp ace/ü", "..", "./.", "%2F", "a\u2028b"]
    for name in names:
        await _obj(client, dev, name, name.encode(), ContainerUpdate(dev, 5))
        assert await (await client.get_object(dev, 3, A, "c", name)).read() == name.encode()
    listed = [r.name for r in await client.list_objects(dev, 5, A, "c")]
    assert listed == sorted(names, key=lambda n: n.encode())
    for name in names:
        got = await client.list_objects(dev, 5, A, "c", prefix=name, limit=1)
        assert [r.name for r in got] == [name]
        after = await client.list_objects(dev, 5, A, "c", marker=name)
        assert [r.name for r in after] == [n for n in listed if n.encode() > name.encode()]
