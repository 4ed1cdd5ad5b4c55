"""The writer on its own: given a ring, a node client and a fan-out, nothing of the core.

A footer (metadata known only after the body) joins the stored metadata of a
body small enough to be read first, and follows a streamed body to each node.
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from typing import Any

import pytest

from objectstore import client as nc
from objectstore.common.errorlimit import ErrorLimiter
from objectstore.proxy.fanout import Fanout
from objectstore.proxy.writes import BUFFER_LIMIT, PutTarget, Writer
from objectstore.timestamp import Timestamp

Dev = namedtuple("Dev", "ip port device")
NODES = [Dev("127.0.0.1", 6000 + i, "d0") for i in range(3)]


class FakeRing:
    replica_count = 3

    def get_part_nodes(self, part: int) -> list[Dev]:
        return NODES

    def get_more_nodes(self, part: int) -> Any:
        return iter(())


class FakeClient:
    """Takes every PUT whole, as a node does, and keeps what each node was sent."""

    def __init__(self) -> None:
        self.stored: dict[Dev, tuple[bytes, dict[str, str], bool]] = {}

    async def put_object(self, dev: Dev, *args: Any, **kw: Any) -> nc.ObjectInfo:
        body = kw["body"]
        data = body if isinstance(body, bytes) else b"".join([c async for c in body])
        footer = kw["footer"]
        meta = {**kw["metadata"], **(footer() if footer is not None else {})}
        self.stored[dev] = (data, meta, footer is not None)
        etag = hashlib.md5(data).hexdigest()
        return nc.ObjectInfo(kw["timestamp"], len(data), etag, kw["content_type"], meta)


def _target(footer: Any) -> PutTarget:
    return PutTarget(
        part=1,
        account="a",
        container="c",
        name="o",
        timestamp=Timestamp.now(),
        content_type="x/y",
        stored={"m:k": "v"},
        updates=[None, None, None],
        delete_at=None,
        expected_etag=None,
        footer=footer,
    )


async def _body(data: bytes, size: int = 65536):
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("size", [10, BUFFER_LIMIT + 1, 3 * 1024 * 1024])
async def test_the_footer_is_stored_with_the_body(size: int) -> None:
    client = FakeClient()
    writer = Writer(
        FakeRing(),  # type: ignore[arg-type]
        client,  # type: ignore[arg-type]
        Fanout(ErrorLimiter(10, 60.0)),
        max_object_size=10 * 1024 * 1024,
        node_timeout=5.0,
    )
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    read: list[int] = []

    def late() -> dict[str, str]:
        read.append(len(data))
        return {"s:s3-checksum": "CRC32:abc"}

    result = await writer.put(_target(late), _body(data), len(data))
    assert result.etag == hashlib.md5(data).hexdigest() and result.size == size
    assert read  # asked once the body was read
    streamed = size > BUFFER_LIMIT
    for dev in NODES:
        assert client.stored[dev] == (data, {"m:k": "v", "s:s3-checksum": "CRC32:abc"}, streamed)
