"""BatchSender: one request in flight per target, the rest coalesced."""

from __future__ import annotations

import asyncio

import pytest

from objectstore.client import NodeUnavailable
from objectstore.node.sender import BatchSender, Target


async def test_rows_coalesce_per_target() -> None:
    calls: list[tuple[Target, list[int]]] = []

    async def send(target: Target, rows: list[int]) -> list[int]:
        calls.append((target, rows))
        await asyncio.sleep(0.01)
        return [200 + r for r in rows]

    sender = BatchSender(send)
    t1, t2 = Target("127.0.0.1", 1, "d0"), Target("127.0.0.1", 2, "d0")
    results = await asyncio.gather(*(sender.send(t1 if i % 2 else t2, i) for i in range(40)))
    assert results == [200 + i for i in range(40)]
    assert len(calls) == 2 == sender.requests  # 40 rows, one request per target
    assert sorted(calls[0][1] + calls[1][1]) == list(range(40))


async def test_failure_reaches_every_row_of_the_batch() -> None:
    async def send(target: Target, rows: list[int]) -> list[int]:
        raise NodeUnavailable("x", "down")

    sender = BatchSender(send)
    target = Target("127.0.0.1", 1, "d0")
    results = await asyncio.gather(
        *(sender.send(target, i) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, NodeUnavailable) for r in results)
    with pytest.raises(NodeUnavailable):  # and the next row tries again
        await sender.send(target, 9)
