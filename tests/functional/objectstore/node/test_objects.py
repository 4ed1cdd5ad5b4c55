"""Object endpoints of a real node, driven through NodeClient."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from objectstore.client import (
    BadRequest,
    Conflict,
    ContainerUpdate,
    EtagMismatch,
    NodeClient,
    NotFound,
    RangeNotSatisfiable,
    ShortBody,
)
from objectstore.node import objects
from objectstore.timestamp import Timestamp
from tests.functional.objectstore.node.conftest import Dev
from tests.helpers.net import free_port

A, C = "AUTH_test", "cont"


async def _put(client: NodeClient, dev, name: str, body: bytes, ts=None, **kw):
    return await client.put_object(
        dev,
        1,
        A,
        C,
        name,
        timestamp=ts or Timestamp.now(),
        body=body,
        content_length=len(body),
        content_type=kw.pop("content_type", "text/plain"),
        metadata=kw.pop("metadata", {}),
        container_update=kw.pop("container_update", None),
        **kw,
    )


def _files(root: str, sub: str) -> list[str]:
    out = []
    for dirpath, _, names in os.walk(os.path.join(root, sub)):
        out += [os.path.join(dirpath, n) for n in names]
    return out


@pytest.mark.parametrize("size", [10, 5000])  # inline (threshold 1024) and file
async def test_put_get_head_post_delete(start_node, client: NodeClient, size: int) -> None:
    node = await start_node()
    dev = node.dev()
    body = os.urandom(size)
    meta = {"X-Object-Meta-Color": "bleu é", "Content-Disposition": "inline"}
    ts = Timestamp.now()
    info = await _put(client, dev, "dir/obj é", body, ts, metadata=meta, delete_at=4102444800)
    assert info.etag == hashlib.md5(body).hexdigest() and info.size == size
    head = await client.head_object(dev, 1, A, C, "dir/obj é")
    assert (head.timestamp, head.size, head.etag) == (ts, size, info.etag)
    assert head.metadata == meta and head.delete_at == 4102444800
    assert head.content_type == "text/plain"
    async with await client.get_object(dev, 1, A, C, "dir/obj é") as stream:
        assert stream.status == 200 and stream.info == head
        assert await stream.read() == body
    stream = await client.get_object(dev, 1, A, C, "dir/obj é", range_header="bytes=3-7")
    assert stream.status == 206 and stream.content_range == (3, 7, size)
    assert await stream.read() == body[3:8]
    with pytest.raises(RangeNotSatisfiable):
        await client.get_object(dev, 1, A, C, "dir/obj é", range_header=f"bytes={size}-")
    post_ts = Timestamp.now()
    await client.post_object(
        dev, 1, A, C, "dir/obj é", timestamp=post_ts, metadata={"X-Object-Meta-New": "1"}
    )
    head = await client.head_object(dev, 1, A, C, "dir/obj é")
    assert head.metadata == {"X-Object-Meta-New": "1"} and head.delete_at is None
    assert head.content_type == "text/plain"  # kept: no content_type given
    assert head.last_modified == post_ts and head.timestamp == ts
    with pytest.raises(Conflict):  # not newer than the last POST
        await client.post_object(dev, 1, A, C, "dir/obj é", timestamp=post_ts, metadata={})
    await client.post_object(
        dev, 1, A, C, "dir/obj é", timestamp=Timestamp.now(), metadata={}, content_type="a/b"
    )
    assert (await client.head_object(dev, 1, A, C, "dir/obj é")).content_type == "a/b"
    del_ts = Timestamp.now()
    await client.delete_object(dev, 1, A, C, "dir/obj é", timestamp=del_ts, container_update=None)
    with pytest.raises(NotFound) as err:
        await client.head_object(dev, 1, A, C, "dir/obj é")
    assert err.value.timestamp == del_ts  # the tombstone's
    with pytest.raises(NotFound):
        await client.get_object(dev, 1, A, C, "dir/obj é")
    assert _files(node.state.devices["d0"].root, "objects") == []


async def test_streamed_body_without_length(start_node, client: NodeClient) -> None:
    node = await start_node()

    async def chunks():
        for i in range(20):
            yield bytes([i]) * 500

    await client.put_object(
        node.dev(),
        1,
        A,
        C,
        "s",
        timestamp=Timestamp.now(),
        body=chunks(),
        content_length=None,
        content_type="x/y",
        metadata={},
        container_update=None,
    )
    stream = await client.get_object(node.dev(), 1, A, C, "s")
    assert await stream.read() == b"".join([bytes([i]) * 500 for i in range(20)])


async def test_older_writes_conflict(start_node, client: NodeClient) -> None:
    node = await start_node()
    ts = Timestamp.now()
    await _put(client, node.dev(), "o", b"new", ts)
    with pytest.raises(Conflict) as err:
        await _put(client, node.dev(), "o", b"x" * 3000, Timestamp(ts.seconds - 1))
    assert err.value.timestamp == ts
    with pytest.raises(Conflict):
        await client.delete_object(
            node.dev(), 1, A, C, "o", timestamp=Timestamp(ts.seconds - 1), container_update=None
        )
    assert await (await client.get_object(node.dev(), 1, A, C, "o")).read() == b"new"
    assert _files(node.state.devices["d0"].root, "objects") == []  # the loser's file is gone


async def test_etag_mismatch_stores_nothing(start_node, client: NodeClient) -> None:
    node = await start_node()
    for size in (10, 5000):
        with pytest.raises(EtagMismatch):
            await _put(client, node.dev(), f"o{size}", b"x" * size, expected_etag="0" * 32)
        with pytest.raises(NotFound) as err:
            await client.head_object(node.dev(), 1, A, C, f"o{size}")
        assert err.value.timestamp is None
    root = node.state.devices["d0"].root
    assert _files(root, "objects") == [] and _files(root, "tmp") == []
    good = b"y" * 10
    await _put(client, node.dev(), "ok", good, expected_etag=hashlib.md5(good).hexdigest())


async def test_short_body_stores_nothing(start_node, client: NodeClient) -> None:
    node = await start_node()
    # Through the client: the body iterable ends early, the upload is aborted.

    async def short():
        yield b"z" * 3000

    with pytest.raises(ShortBody):  # the caller's fault, not the node's
        await client.put_object(
            node.dev(),
            1,
            A,
            C,
            "short",
            timestamp=Timestamp.now(),
            body=short(),
            content_length=6000,
            content_type="x",
            metadata={},
            container_update=None,
        )
    # By hand: announce 6000 bytes, send 3000, hang up.
    path = "/o/d0/1/AUTH_test/cont/raw"
    _reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(
        f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-Timestamp: {Timestamp.now().normal}\r\n"
        f"Content-Length: 6000\r\n\r\n".encode()
        + b"q" * 3000
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    root = node.state.devices["d0"].root
    for _ in range(100):  # bounded: the node notices the hang-up and cleans up
        if not _files(root, "tmp") and not node.state.devices["d0"].committer.ops:
            break
        await asyncio.sleep(0.02)
    for name in ("short", "raw"):
        with pytest.raises(NotFound):
            await client.head_object(node.dev(), 1, A, C, name)
    assert _files(root, "objects") == [] and _files(root, "tmp") == []


async def test_bad_names_and_devices(start_node, client: NodeClient) -> None:
    node = await start_node()
    with pytest.raises(BadRequest):
        await _put(client, node.dev(), "x" * 1025, b"")
    with pytest.raises(BadRequest):
        await _put(client, node.dev(), "nul\x00name", b"")
    with pytest.raises(BadRequest):
        await client.head_object(node.dev(), 1, A, "a" * 257, "o")
    with pytest.raises(BadRequest):
        await _put(client, node.dev(), "o", b"", metadata={"k": "v" * 5000})
    bad = node.dev("..")
    with pytest.raises(BadRequest):
        await client.head_object(bad, 1, A, C, "o")
    # A name that looks like a path escape is just a name.
    await _put(client, node.dev(), "../../etc/passwd", b"safe")
    assert (
        await (await client.get_object(node.dev(), 1, A, C, "../../etc/passwd")).read() == b"safe"
    )


async def test_container_row_is_updated_before_the_answer(start_node, client: NodeClient) -> None:
    obj_node, cont_node = await start_node(), await start_node()
    cdev = cont_node.dev()
    await client.put_container(cdev, 7, A, C, timestamp=Timestamp.now())
    update = ContainerUpdate(cdev, 7)
    await _put(client, obj_node.dev(), "listed", b"abc", container_update=update)
    listing = await client.list_objects(cdev, 7, A, C)  # no waiting: it is already there
    assert [(r.name, r.size) for r in listing] == [("listed", 3)]
    assert listing.info.object_count == 1 and listing.info.bytes_used == 3
    await client.delete_object(
        obj_node.dev(), 1, A, C, "listed", timestamp=Timestamp.now(), container_update=update
    )
    listing = await client.list_objects(cdev, 7, A, C)
    assert list(listing) == [] and listing.info.object_count == 0
    # Delivered updates leave the queue (in the next group commit: no extra fsync).
    assert await _queue_drained(obj_node.state.devices["d0"])


async def test_unreachable_container_node_is_queued_then_delivered(
    start_node, client: NodeClient
) -> None:
    obj_node = await start_node()
    cport = free_port()
    cdev = Dev("127.0.0.1", cport, "d0")
    await _put(client, obj_node.dev(), "later", b"12345", container_update=ContainerUpdate(cdev, 2))
    dev = obj_node.state.devices["d0"]
    with dev.read() as txn:
        queued = objects.scan_pending(txn, 10)
    assert len(queued) == 1 and queued[0][1].row[3] == "later"
    cont_node = await start_node(port=cport)
    await client.put_container(cdev, 2, A, C, timestamp=Timestamp.now())
    for _ in range(200):  # bounded: the updater runs every 0.2 s here (backoff 2 s after a miss)
        listing = await client.list_objects(cdev, 2, A, C)
        if listing:
            break
        await asyncio.sleep(0.05)
    assert [r.name for r in listing] == ["later"]
    assert await _queue_drained(dev)
    assert cont_node.port == cport


async def _queue_drained(dev) -> bool:
    for _ in range(100):  # bounded
        with dev.read() as txn:
            if not objects.scan_pending(txn, 10):
                return True
        await asyncio.sleep(0.02)
    return False


async def test_concurrent_puts_share_commits_and_update_requests(
    start_node, client: NodeClient
) -> None:
    obj_node, cont_node = await start_node(), await start_node()
    cdev = cont_node.dev()
    await client.put_container(cdev, 7, A, C, timestamp=Timestamp.now())
    update = ContainerUpdate(cdev, 7)
    before = await client.node_stats(obj_node.dev())
    await asyncio.gather(
        *(
            _put(client, obj_node.dev(), f"c{i}", b"v" * i, container_update=update)
            for i in range(40)
        )
    )
    after = await client.node_stats(obj_node.dev())
    commits = after["devices"]["d0"]["commits"] - before["devices"]["d0"]["commits"]
    requests = after["container_update_requests"] - before["container_update_requests"]
    assert commits < 40 and requests < 40, (commits, requests)
    assert len(await client.list_objects(cdev, 7, A, C)) == 40


async def test_verify_hook_sees_the_md5_of_whole_file_gets(start_node, client: NodeClient) -> None:
    node = await start_node()
    seen: list[tuple[str, str]] = []
    node.state.verify_hook = lambda dev, key, rec, md5: seen.append((rec.etag, md5))
    body = os.urandom(5000)
    await _put(client, node.dev(), "v", body)
    assert await (await client.get_object(node.dev(), 1, A, C, "v")).read() == body
    await (await client.get_object(node.dev(), 1, A, C, "v", range_header="bytes=0-9")).read()
    assert seen == [(hashlib.md5(body).hexdigest(),) * 2]  # whole GETs only
