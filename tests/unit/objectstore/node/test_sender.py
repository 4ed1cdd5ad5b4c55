"""BatchSender: one request in flight per target, the rest coalesced."""

from __future__ import annotations

import asyncio

import pytest

from objectstore.client import NodeUnavailable
from objectstore.common.values import NodeClientError
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


async def test_an_unreachable_target_fails_inline_sends_at_once_for_a_while() -> None:
    """A request's own send to a target that just failed does not wait out another timeout;
    background sends still go (they are the probes) and a success ends the hold."""
    now = [100.0]
    up = {"ok": False}
    calls: list[list[int]] = []

    async def send(target: Target, rows: list[int]) -> list[int]:
        calls.append(rows)
        if not up["ok"]:
            raise NodeUnavailable("x", "timed out")
        return [201 for _ in rows]

    sender = BatchSender(send, hold=5.0, clock=lambda: now[0])
    target, other = Target("10.0.0.3", 6200, "d0"), Target("10.0.0.2", 6200, "d0")
    with pytest.raises(NodeUnavailable):
        await sender.send(target, 1, inline=True)
    assert sender.unreachable(target) and not sender.unreachable(other)
    with pytest.raises(NodeClientError, match="unreachable for now"):
        await sender.send(target, 2, inline=True)
    assert calls == [[1]] and sender.skipped == 1
    with pytest.raises(NodeUnavailable):  # a background send still tries
        await sender.send(target, 3)
    assert calls == [[1], [3]]
    now[0] += 5.0  # the hold is over: a request's send tries again
    up["ok"] = True
    assert await sender.send(target, 4, inline=True) == 201
    up["ok"] = False
    with pytest.raises(NodeUnavailable):
        await sender.send(target, 5)
    up["ok"] = True
    assert await sender.send(target, 6) == 201  # a background success ends the hold at once
    assert await sender.send(target, 7, inline=True) == 201
    assert calls[-2:] == [[6], [7]]
