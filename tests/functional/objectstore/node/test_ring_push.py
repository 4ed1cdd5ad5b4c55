"""/ring/<name> on real nodes: signed pushes and fetches install newer rings, nothing else does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from objectstore.client import NodeClient, NodeError
from objectstore.common import ringsign
from ring import RingBuilder
from ring.ringfile import encode
from tests.functional.objectstore.node.conftest import Dev
from tests.helpers.net import free_port

KEY = ringsign.push_key("pre", "suf")


def _rings(port: int) -> tuple[RingBuilder, bytes]:
    b = RingBuilder(4, 1, min_part_hours=0)
    b.add_device(region=1, zone=1, ip="127.0.0.1", port=port, device="d0", weight=100)
    b.add_device(region=1, zone=2, ip="127.0.0.2", port=port, device="d0", weight=100)
    b.rebalance(seed=1)
    return b, encode(b.to_ring_data())


def _newer(b: RingBuilder, weight: float) -> bytes:
    b.set_weight(1, weight)
    b.rebalance(seed=2)
    return encode(b.to_ring_data())


@pytest.fixture
async def node(start_node, tmp_path: Path):
    return await start_node(
        ring_dir=str(tmp_path / "srv" / "rings"), ip="127.0.0.1", workers=False, ring_key=KEY
    )


async def test_push_installs_newer_rings_and_the_node_serves_with_them_at_once(
    node, client: NodeClient, tmp_path: Path
) -> None:
    assert KEY is not None
    assert (await client.node_stats(node.dev()))["rings"]["object"] is None  # started ringless
    b, v1 = _rings(node.port)
    got = await client.push_ring(node.dev(), "object", v1, KEY)
    assert got["result"] == "installed" and got["version"] == 1 and got["previous"] is None
    assert (tmp_path / "srv" / "rings" / "object.ring").read_bytes() == v1
    stats = await client.node_stats(node.dev())
    assert stats["rings"]["object"] == 1
    assert stats["ring_checksums"]["object"] == got["checksum"]

    v2 = _newer(b, 50)
    got = await client.push_ring(node.dev(), "object", v2, KEY)
    assert (got["result"], got["version"], got["previous"]) == ("installed", 2, 1)
    # No wait: the node reloaded when it answered, not at its next periodic check.
    assert (await client.node_stats(node.dev()))["rings"]["object"] == 2
    again = await client.push_ring(node.dev(), "object", v2, KEY)
    assert again["result"] == "current"

    with pytest.raises(NodeError) as older:
        await client.push_ring(node.dev(), "object", v1, KEY)
    assert older.value.status == 409 and "older than the installed 2" in older.value.body
    assert (await client.node_stats(node.dev()))["rings"]["object"] == 2


async def test_a_ring_with_a_bad_checksum_is_refused_even_when_signed(
    node, client: NodeClient, tmp_path: Path
) -> None:
    assert KEY is not None
    _b, v1 = _rings(node.port)
    bad = bytearray(v1)
    bad[-30] ^= 0xFF
    with pytest.raises(NodeError) as refused:
        await client.push_ring(node.dev(), "container", bytes(bad), KEY)
    assert refused.value.status == 422 and "checksum mismatch" in refused.value.body
    assert not (tmp_path / "srv" / "rings" / "container.ring").exists()


async def _raw_put(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.put(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as resp,
    ):
        return resp.status


async def test_unauthenticated_or_tampered_pushes_are_refused(node, tmp_path: Path) -> None:
    assert KEY is not None
    _b, v1 = _rings(node.port)
    path = "/ring/object"
    assert await _raw_put(node.port, path, v1, {}) == 401
    wrong = ringsign.push_key("other", "salts")
    assert wrong is not None
    assert await _raw_put(node.port, path, v1, ringsign.sign(wrong, "PUT", path, v1)) == 401
    # Signed for another ring, or for other bytes: the signature covers path and body.
    other = ringsign.sign(KEY, "PUT", "/ring/account", v1)
    assert await _raw_put(node.port, path, v1, other) == 401
    signed = ringsign.sign(KEY, "PUT", path, v1)
    assert await _raw_put(node.port, path, v1[:-1] + b"\x00", signed) == 401
    stale = ringsign.sign(KEY, "PUT", path, v1, now=1_000_000_000)
    assert await _raw_put(node.port, path, v1, stale) == 401
    assert not (tmp_path / "srv" / "rings" / "object.ring").exists()
    assert await _raw_put(node.port, "/ring/nothing", v1, signed) == 404
    assert await _raw_put(node.port, path, v1, signed) == 201


async def test_a_node_without_a_cluster_key_refuses_every_push(
    start_node, client: NodeClient, tmp_path: Path
) -> None:
    assert KEY is not None
    node = await start_node(ring_dir=str(tmp_path / "rings"), ip="127.0.0.1", workers=False)
    _b, v1 = _rings(node.port)
    with pytest.raises(NodeError) as refused:
        await client.push_ring(node.dev(), "object", v1, KEY)
    assert refused.value.status == 403


async def test_ring_size_is_bounded(node) -> None:
    headers = {"Content-Length": str(ringsign.MAX_RING_BYTES + 1)}
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            f"http://127.0.0.1:{node.port}/ring/object", data=b"x" * 16, headers=headers
        ) as resp,
    ):
        assert resp.status == 413


# --- the pull side: GET /ring/<name> and a node fetching from its ring source ------------
async def test_fetch_is_signed_both_ways(node, client: NodeClient) -> None:
    assert KEY is not None
    _b, v1 = _rings(node.port)
    with pytest.raises(NodeError) as missing:
        await client.fetch_ring(node.dev(), "object", KEY)
    assert missing.value.status == 404
    await client.push_ring(node.dev(), "object", v1, KEY)
    assert await client.fetch_ring(node.dev(), "object", KEY) == v1
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{node.port}/ring/object") as resp,
    ):
        assert resp.status == 401  # an unsigned fetch learns nothing of the topology
    wrong = ringsign.push_key("other", "salts")
    assert wrong is not None
    with pytest.raises(NodeError) as refused:
        await client.fetch_ring(node.dev(), "object", wrong)
    assert refused.value.status == 401


async def _wait_version(client: NodeClient, dev, name: str, version: int, limit: float) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < limit:
        if (await client.node_stats(dev))["rings"][name] == version:
            return loop.time() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} ring version {version} not served within {limit} s")


async def test_a_node_fetches_newer_rings_from_its_source(
    start_node, client: NodeClient, tmp_path: Path
) -> None:
    assert KEY is not None
    source = await start_node(
        ring_dir=str(tmp_path / "a" / "rings"), ip="127.0.0.1", workers=False, ring_key=KEY
    )
    b, v1 = _rings(source.port)
    await client.push_ring(source.dev(), "object", v1, KEY)
    follower = await start_node(
        ring_dir=str(tmp_path / "b" / "rings"),
        ip="127.0.0.1",
        workers=False,
        ring_key=KEY,
        ring_source=("127.0.0.1", source.port),
        ring_fetch_interval=0.5,
    )
    await _wait_version(client, follower.dev(), "object", 1, 5.0)
    await client.push_ring(source.dev(), "object", _newer(b, 50), KEY)
    took = await _wait_version(client, follower.dev(), "object", 2, 5.0)
    assert took <= 0.5 + 1.0  # the fetch interval, and a margin for the pass itself
    fetch = (await client.node_stats(follower.dev()))["ring_fetch"]
    assert fetch["passes"] >= 2 and fetch["last_error"] == ""

    # A source left behind (an older ring) never takes the follower back.
    older = await start_node(
        ring_dir=str(tmp_path / "c" / "rings"), ip="127.0.0.1", workers=False, ring_key=KEY
    )
    await client.push_ring(older.dev(), "object", v1, KEY)
    follower.state.ring_fetcher.source = Dev("127.0.0.1", older.port, "-")  # type: ignore[union-attr]
    fetcher = follower.state.ring_fetcher
    assert fetcher is not None
    result = await fetcher.trigger(10)
    assert result["last"]["refused"] == 1
    assert (await client.node_stats(follower.dev()))["rings"]["object"] == 2


async def test_a_source_answer_not_signed_by_the_cluster_is_not_installed(
    start_node, client: NodeClient, tmp_path: Path
) -> None:
    assert KEY is not None
    _b, v1 = _rings(1)
    forger = ringsign.push_key("someone", "else")
    assert forger is not None

    async def serve(request: web.Request) -> web.Response:
        headers = ringsign.sign(forger, ringsign.ANSWER, request.path, v1)
        return web.Response(body=v1, headers=headers)

    app = web.Application()
    app.router.add_get("/ring/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        follower = await start_node(
            ring_dir=str(tmp_path / "b" / "rings"),
            ip="127.0.0.1",
            workers=False,
            ring_key=KEY,
            ring_source=("127.0.0.1", port),
            ring_fetch_interval=3600,
        )
        fetcher = follower.state.ring_fetcher
        assert fetcher is not None
        result = await fetcher.trigger(10)
        assert result["last"]["errors"] == 3 and result["last"]["installed"] == 0
        assert not (tmp_path / "b" / "rings").exists()
    finally:
        await runner.cleanup()
