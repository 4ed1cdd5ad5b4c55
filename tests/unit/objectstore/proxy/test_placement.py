"""call_many: concurrency, handoff replacement, quorum, deadline, error limiting."""

from __future__ import annotations

import asyncio
from collections import namedtuple

import pytest

from objectstore.common.errorlimit import ErrorLimiter
from objectstore.proxy.placement import (
    ErrorLimited,
    call_many,
    is_fault,
    quorum_size,
    read_order,
    read_quorum,
)

Dev = namedtuple("Dev", "ip port device")
P = [Dev("127.0.0.1", 6200 + i, "d") for i in range(3)]
H = [Dev("127.0.0.1", 6300 + i, "d") for i in range(3)]


class Refused(OSError):
    pass


class NotThere(Exception):
    """An answer, not a fault."""


def test_quorum_sizes() -> None:
    assert [quorum_size(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
    assert [read_quorum(n) for n in (1, 2, 3, 4, 5)] == [1, 1, 2, 2, 3]


def test_fault_classification() -> None:
    assert is_fault(Refused())
    assert is_fault(TimeoutError())
    assert not is_fault(NotThere())

    class Err(Exception):
        status = 503

    class Answer(Exception):
        status = 404

    assert is_fault(Err())
    assert not is_fault(Answer())


async def test_all_succeed_concurrently() -> None:
    started: list[int] = []
    gate = asyncio.Event()

    async def fn(node: Dev, slot: int) -> int:
        started.append(slot)
        if len(started) == 3:
            gate.set()
        await gate.wait()  # deadlocks unless all three run at once
        return node.port

    out = await call_many(P, fn, 2, 5.0)
    assert out.met
    assert sorted(r.value for r in out.successes) == [6200, 6201, 6202]


async def test_faulty_primary_is_replaced_by_a_handoff_in_its_slot() -> None:
    lim = ErrorLimiter(10, 60.0)

    async def fn(node: Dev, slot: int) -> tuple[int, int]:
        if node is P[1]:
            raise Refused("connection refused")
        return node.port, slot

    out = await call_many(P, fn, 2, 5.0, handoffs=iter(H), limiter=lim)
    assert out.met
    ok = sorted(r.value for r in out.successes)
    assert ok == [(6200, 0), (6202, 2), (6300, 1)]
    (sub,) = [r for r in out.successes if r.handoff]
    assert sub.node == H[0] and sub.slot == 1
    assert lim.errors(P[1]) == 1


async def test_answers_are_not_replaced_and_not_counted() -> None:
    lim = ErrorLimiter(10, 60.0)

    async def fn(node: Dev, slot: int) -> int:
        raise NotThere()

    out = await call_many(P, fn, 2, 5.0, handoffs=iter(H), limiter=lim)
    assert not out.met
    assert len(out.failures) == 3
    assert all(not r.handoff for r in out.replies)
    assert lim.errors(P[0]) == 0


async def test_handoffs_run_out() -> None:
    async def fn(node: Dev, slot: int) -> int:
        raise Refused()

    out = await call_many(P, fn, 2, 5.0, handoffs=iter(H[:1]))
    assert not out.met
    assert len(out.replies) == 4


async def test_limited_primary_is_skipped_for_a_handoff() -> None:
    lim = ErrorLimiter(1, 60.0)
    lim.record_error(P[0])
    called: list[Dev] = []

    async def fn(node: Dev, slot: int) -> int:
        called.append(node)
        return slot

    out = await call_many(P, fn, 2, 5.0, handoffs=iter(H), limiter=lim)
    assert P[0] not in called and H[0] in called
    assert sorted(r.value for r in out.successes) == [0, 1, 2]


async def test_limited_primary_still_tried_when_nothing_else_left() -> None:
    lim = ErrorLimiter(1, 60.0)
    for p in P:
        lim.record_error(p)

    async def fn(node: Dev, slot: int) -> int:
        return slot

    out = await call_many(P, fn, 2, 5.0, limiter=lim)
    assert out.met


async def test_a_read_still_asks_a_limited_primary_when_one_is_down() -> None:
    """The probe cluster's stale reads: with P0 down and P1, P2 both limited (restarted
    a moment ago), a quorum read must still reach P2, the only fresh replica."""
    lim = ErrorLimiter(1, 60.0)
    lim.record_error(P[1])
    lim.record_error(P[2])
    called: list[Dev] = []

    async def fn(node: Dev, slot: int) -> int:
        called.append(node)
        if node == P[0]:
            raise Refused()
        return slot

    order = list(read_order(P, [], lim))
    assert order == [P[0], P[1], P[2]]
    out = await call_many(
        order[:2], fn, 2, 5.0, handoffs=iter(order[2:]), limiter=lim, ordered=True
    )
    assert P[2] in called and out.met
    # Without ``ordered`` the limited P2, passed as a handoff, was dropped.
    called.clear()
    out = await call_many(order[:2], fn, 2, 5.0, handoffs=iter(order[2:]), limiter=lim)
    assert P[2] not in called and not out.met


async def test_deadline_cancels_slow_calls() -> None:
    lim = ErrorLimiter(10, 60.0)
    cancelled = asyncio.Event()

    async def fn(node: Dev, slot: int) -> int:
        if slot == 2:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return slot

    out = await call_many(P, fn, 2, 0.2, limiter=lim)
    assert out.met
    assert cancelled.is_set()
    (late,) = out.failures
    assert isinstance(late.error, TimeoutError) and late.slot == 2
    assert lim.errors(P[2]) == 1


async def test_insufficient_storage_limits_at_once() -> None:
    lim = ErrorLimiter(10, 60.0)

    class Full(Exception):
        status = 507

    async def fn(node: Dev, slot: int) -> int:
        if slot == 0:
            raise Full()
        return slot

    await call_many(P, fn, 2, 5.0, limiter=lim)
    assert lim.is_limited(P[0])


def test_read_order() -> None:
    lim = ErrorLimiter(1, 60.0)
    lim.record_error(P[0])
    lim.record_error(H[1])
    assert list(read_order(P, iter(H), lim)) == [P[1], P[2], H[0], H[2], P[0]]
    assert list(read_order(P, None, None)) == P


def test_error_limited_is_a_fault() -> None:
    assert is_fault(ErrorLimited())


@pytest.mark.parametrize("n", [1, 5])
async def test_any_replica_count(n: int) -> None:
    nodes = [Dev("127.0.0.1", 7000 + i, "d") for i in range(n)]

    async def fn(node: Dev, slot: int) -> int:
        return slot

    out = await call_many(nodes, fn, quorum_size(n), None)
    assert out.met and len(out.successes) == n
