"""Object footers on a real node: metadata sent after the body, stored in the same commit."""

from __future__ import annotations

import hashlib
import os

import aiohttp
import pytest

from objectstore.client import BadRequest, NodeClient, NotFound
from objectstore.common import footer, wire
from objectstore.timestamp import Timestamp

A, C = "AUTH_test", "cont"


async def _chunks(data: bytes, size: int = 7000):
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("size", [10, 5000, 300_000])  # inline (threshold 1024), file, batches
@pytest.mark.parametrize("known", [True, False])
async def test_the_footer_is_stored_with_the_object(
    start_node, client: NodeClient, size: int, known: bool
) -> None:
    node = await start_node()
    body = os.urandom(size)
    said: list[str] = []

    def late() -> dict[str, str]:
        said.append("asked")  # only once the body is through
        return {"s:s3-checksum": "CRC32:abcd", "m:color": "blue"}

    info = await client.put_object(
        node.dev(),
        1,
        A,
        C,
        "o",
        timestamp=Timestamp.now(),
        body=_chunks(body),
        content_length=size if known else None,
        content_type="x/y",
        metadata={"m:color": "red", "m:size": "big"},
        container_update=None,
        footer=late,
    )
    assert info.etag == hashlib.md5(body).hexdigest() and info.size == size
    head = await client.head_object(node.dev(), 1, A, C, "o")
    assert head.metadata == {"m:color": "blue", "m:size": "big", "s:s3-checksum": "CRC32:abcd"}
    assert head.meta_timestamp is None  # one write: no metadata update after it
    assert head.size == size and head.etag == info.etag
    assert await (await client.get_object(node.dev(), 1, A, C, "o")).read() == body
    assert said


async def _raw_put(client: NodeClient, dev, name: str, data: bytes, **headers: str) -> int:
    url = f"http://127.0.0.1:{dev.port}{wire.object_path(dev.device, 1, A, C, name)}"
    all_headers = {**NodeClient._headers(Timestamp.now()), footer.HEADER: "1", **headers}
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, data=data, headers=all_headers) as resp,
    ):
        return resp.status


@pytest.mark.parametrize(
    "data, headers, status",
    [
        (b"no footer at all", {}, 400),
        (b"x" * 3000 + b"0000ffff", {}, 400),  # a footer longer than the body
        (b"body" + footer.encode({"m:k": "v" * 5000}), {}, 400),  # past the metadata limits
        (b"body" + footer.encode({"m:k": "v"}), {footer.OBJECT_LENGTH: "x"}, 400),
        (b"body" + footer.encode({"m:k": "v"}), {footer.OBJECT_LENGTH: "5"}, 499),  # short
    ],
)
async def test_a_bad_footer_stores_nothing(
    start_node, client: NodeClient, data: bytes, headers: dict[str, str], status: int
) -> None:
    node = await start_node()
    assert await _raw_put(client, node.dev(), "bad", data, **headers) == status
    with pytest.raises(NotFound):
        await client.head_object(node.dev(), 1, A, C, "bad")
    root = node.state.devices["d0"].root
    assert [n for _d, _s, names in os.walk(root) for n in names if n.startswith("put-")] == []


async def test_the_framing_is_checked_through_the_client(start_node, client: NodeClient) -> None:
    node = await start_node()
    ok = b"body" + footer.encode({"m:k": "v"})
    assert await _raw_put(client, node.dev(), "ok", ok, **{footer.OBJECT_LENGTH: "4"}) == 201
    head = await client.head_object(node.dev(), 1, A, C, "ok")
    assert (head.size, head.metadata) == (4, {"m:k": "v"})
    with pytest.raises(BadRequest):  # metadata the node refuses, found only in the footer
        await client.put_object(
            node.dev(),
            1,
            A,
            C,
            "big",
            timestamp=Timestamp.now(),
            body=_chunks(b"z" * 3000),
            content_length=3000,
            content_type="x/y",
            metadata={},
            container_update=None,
            footer=lambda: {f"m:{i}": "v" * 100 for i in range(100)},
        )
