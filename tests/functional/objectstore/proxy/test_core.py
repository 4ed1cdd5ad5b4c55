"""The proxy core against a real three-node cluster (no HTTP front-end)."""

from __future__ import annotations

import hashlib
import os

import pytest

from objectstore.proxy import errors
from objectstore.proxy.models import ListParams, ObjectMetadata
from tests.functional.objectstore.conftest import ClusterFactory

A = "AUTH_core"


async def _chunks(data: bytes, size: int = 65536):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_put_get_head_delete_small(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    core = c.core
    assert await core.put_container(A, "box") is True
    assert await core.put_container(A, "box") is False
    md = ObjectMetadata(content_type="text/plain", user={"color": "blue"})
    res = await core.put_object(A, "box", "hello.txt", b"hello world", md)
    assert res.etag == "5eb63bbbe01eeed093cb22bb8f5acdc3" and res.size == 11
    info, body = await core.get_object(A, "box", "hello.txt")
    assert await body.read() == b"hello world"
    body.close()
    assert info.user == {"color": "blue"} and info.content_type == "text/plain"
    head = await core.head_object(A, "box", "hello.txt")
    assert head.timestamp == res.timestamp
    cinfo, rows = await core.list_objects(A, "box", ListParams())
    assert [r.name for r in rows] == ["hello.txt"] and cinfo.object_count == 1
    ainfo = await core.head_account(A)
    assert ainfo.exists and ainfo.container_count == 1
    await core.delete_object(A, "box", "hello.txt")
    with pytest.raises(errors.ObjectNotFound):
        await core.head_object(A, "box", "hello.txt")
    with pytest.raises(errors.ObjectNotFound):
        await core.delete_object(A, "box", "hello.txt")


async def test_large_streamed_put_and_ranges(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    core = c.core
    await core.put_container(A, "big")
    data = bytes(range(256)) * 4096 * 2  # 2 MiB, beyond the buffered path
    res = await core.put_object(
        A, "big", "blob", _chunks(data), ObjectMetadata(), content_length=len(data)
    )
    assert res.size == len(data)
    _info, body = await core.get_object(A, "big", "blob")
    assert await body.read() == data
    _info, body = await core.get_object(A, "big", "blob", [(10, 19), (1_500_000, 1_500_009)])
    parts = [b"".join([x async for x in body.range_chunks(s, e)]) for s, e in body.ranges]
    body.close()
    assert parts == [data[10:20], data[1_500_000:1_500_010]]
    with pytest.raises(errors.RangeNotSatisfiable):
        await core.get_object(A, "big", "blob", [(len(data), None)])


async def test_chunked_unknown_length(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    await c.core.put_container(A, "c")
    data = b"x" * 700_000
    res = await c.core.put_object(A, "c", "o", _chunks(data, 10_000), ObjectMetadata())
    assert res.size == len(data)
    _info, body = await c.core.get_object(A, "c", "o")
    assert len(await body.read()) == len(data)


async def test_odd_chunks_over_several_batches_keep_order_and_md5(
    make_cluster: ClusterFactory,
) -> None:
    c = await make_cluster(proxy=False)
    await c.core.put_container(A, "c")
    data = os.urandom(3 * 1024 * 1024 + 12345)  # several feeder batches, a ragged tail
    res = await c.core.put_object(A, "c", "o", _chunks(data, 7777), ObjectMetadata())
    assert res.size == len(data)
    assert res.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    _info, body = await c.core.get_object(A, "c", "o")
    assert await body.read() == data


async def test_short_body_stores_nothing(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    await c.core.put_container(A, "c")
    for size in (100, 1_000_000):
        with pytest.raises(errors.ClientDisconnected):
            await c.core.put_object(
                A, "c", f"o{size}", _chunks(b"y" * size), ObjectMetadata(), content_length=size + 1
            )
        with pytest.raises(errors.ObjectNotFound):
            await c.core.head_object(A, "c", f"o{size}")


async def test_etag_mismatch(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    await c.core.put_container(A, "c")
    for size in (10, 1_000_000):
        with pytest.raises(errors.EtagMismatch):
            await c.core.put_object(
                A,
                "c",
                "o",
                _chunks(b"z" * size),
                ObjectMetadata(etag="0" * 32),
                content_length=size,
            )
        with pytest.raises(errors.ObjectNotFound):
            await c.core.head_object(A, "c", "o")


async def test_quorum_with_one_node_down(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    await c.core.put_container(A, "c")
    await c.stop_node(0)
    for name, data in (("small", b"s" * 100), ("large", b"L" * 1_000_000)):
        await c.core.put_object(
            A, "c", name, _chunks(data), ObjectMetadata(), content_length=len(data)
        )
        _info, body = await c.core.get_object(A, "c", name)
        assert await body.read() == data
    await c.stop_node(1)
    with pytest.raises(errors.ServiceUnavailable):
        await c.core.put_object(A, "c", "nope", b"x", ObjectMetadata())


async def test_handoff_takes_a_down_primary_slot(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(nodes=5, proxy=False)
    await c.core.put_container(A, "c")
    part, primaries = c.rings.object.get_nodes(A, "c", "o")
    down = c.node_of(primaries[0])
    await down.stop()
    await c.core.put_object(A, "c", "o", b"data", ObjectMetadata())
    stored = 0
    for dev in [*primaries[1:], *list(c.rings.object.get_more_nodes(part))]:
        try:
            await c.client.head_object(dev, part, A, "c", "o")
            stored += 1
        except Exception:
            pass
    assert stored == 3  # two primaries and one handoff
    # the other two primaries go down too: the handoff still serves the read
    for dev in primaries[1:]:
        await c.node_of(dev).stop()
    await down.start()
    _info, body = await c.core.get_object(A, "c", "o")
    assert await body.read() == b"data"


async def test_newest_wins_and_tombstones_count(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    await c.core.put_container(A, "c")
    await c.core.put_object(A, "c", "o", b"old", ObjectMetadata())
    await c.stop_node(2)
    await c.core.put_object(A, "c", "o", b"new", ObjectMetadata())
    await c.start_node(2)
    for _ in range(5):
        _info, body = await c.core.get_object(A, "c", "o")
        assert await body.read() == b"new"
    await c.stop_node(0)
    await c.core.delete_object(A, "c", "o")
    await c.start_node(0)
    for _ in range(5):
        with pytest.raises(errors.ObjectNotFound):
            await c.core.get_object(A, "c", "o")


async def test_post_copy_and_expiry(make_cluster: ClusterFactory) -> None:
    import time

    c = await make_cluster(proxy=False)
    core = c.core
    await core.put_container(A, "c")
    await core.put_object(
        A,
        "c",
        "src",
        b"payload",
        ObjectMetadata("text/x", {"a": "1", "b": "2"}, {"content-encoding": "gzip"}),
    )
    await core.post_object(A, "c", "src", ObjectMetadata(user={"z": "9"}))
    info = await core.head_object(A, "c", "src")
    assert info.user == {"z": "9"} and info.attributes == {} and info.content_type == "text/x"
    res, src = await core.copy_object(
        (A, "c", "src"), (A, "c", "dst"), ObjectMetadata(user={"y": "8", "z": ""})
    )
    info = await core.head_object(A, "c", "dst")
    assert info.user == {"y": "8"} and res.etag == src.etag
    await core.put_object(A, "c", "soon", b"x", ObjectMetadata(delete_at=int(time.time()) + 60))
    await core.head_object(A, "c", "soon")
    await core.put_object(A, "c", "gone", b"x", ObjectMetadata(delete_at=int(time.time()) - 1))
    with pytest.raises(errors.ObjectNotFound):
        await core.head_object(A, "c", "gone")


async def test_containers(make_cluster: ClusterFactory) -> None:
    c = await make_cluster(proxy=False)
    core = c.core
    with pytest.raises(errors.ContainerNotFound):
        await core.put_object(A, "missing", "o", b"x", ObjectMetadata())
    await core.put_container(A, "c", user={"k": "v"}, system={"read-acl": ".r:*"})
    info = await core.head_container(A, "c")
    assert info.user == {"k": "v"} and info.read_acl == ".r:*"
    await core.post_container(A, "c", user={"k": "", "n": "1"})
    info = await core.head_container(A, "c")
    assert info.user == {"n": "1"}
    await core.put_object(A, "c", "o", b"x", ObjectMetadata())
    with pytest.raises(errors.ContainerNotEmpty):
        await core.delete_container(A, "c")
    await core.delete_object(A, "c", "o")
    await core.delete_container(A, "c")
    with pytest.raises(errors.ContainerNotFound):
        await core.head_container(A, "c")
    with pytest.raises(errors.ContainerNotFound):
        await core.delete_container(A, "c")
    ainfo, rows = await core.list_containers(A, ListParams())
    assert rows == [] and ainfo.container_count == 0
    ainfo = await core.head_account("AUTH_never")
    assert not ainfo.exists


async def test_a_container_made_while_its_primaries_were_down_is_found(
    make_cluster: ClusterFactory,
) -> None:
    c = await make_cluster(nodes=6, proxy=False)
    _part, primaries = c.rings.container.get_nodes(A, "lonely")
    for dev in primaries:
        await c.node_of(dev).stop()
    await c.core.put_container(A, "lonely")  # lands on handoffs only
    for dev in primaries:
        await c.node_of(dev).start()
        c.core.limiter.clear(dev)  # healthy again: primaries are asked first
    info = await c.core.head_container(A, "lonely")  # every primary says 404 first
    assert info.name == "lonely"
    with pytest.raises(errors.ContainerNotFound):
        await c.core.head_container(A, "never-made")
