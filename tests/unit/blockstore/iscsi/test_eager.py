"""start_eagerly: synchronous when nothing waits, an ordinary task from the first wait on."""

from __future__ import annotations

import asyncio

import pytest

from blockstore.iscsi.eager import start_eagerly


async def test_a_coroutine_that_never_waits_finishes_before_the_call_returns() -> None:
    done: list[str] = []

    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ready.set_result(None)

    async def quick() -> None:
        await ready  # already done: no suspension
        done.append("ran")

    assert start_eagerly(asyncio.get_running_loop(), quick()) is None
    assert done == ["ran"]


async def test_the_part_after_the_first_wait_runs_in_a_task() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[int] = loop.create_future()
    steps: list[object] = []

    async def waits() -> None:
        steps.append("before")
        steps.append(await gate)  # the value the future resolves with reaches the coroutine
        await asyncio.sleep(0)
        steps.append("after")

    task = start_eagerly(loop, waits())
    assert task is not None
    assert steps == ["before"]
    gate.set_result(42)
    await task
    assert steps == ["before", 42, "after"]


async def test_cancelling_the_task_reaches_the_coroutine() -> None:
    loop = asyncio.get_running_loop()
    seen: list[str] = []

    async def cleans_up() -> None:
        try:
            await loop.create_future()  # never resolves
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        finally:
            seen.append("finally")

    task = start_eagerly(loop, cleans_up())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled", "finally"]


async def test_an_exception_after_the_first_wait_is_the_tasks() -> None:
    loop = asyncio.get_running_loop()

    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("late")

    task = start_eagerly(loop, fails())
    assert task is not None
    with pytest.raises(ValueError, match="late"):
        await task


async def test_a_coroutine_can_catch_what_is_thrown_in_and_carry_on() -> None:
    loop = asyncio.get_running_loop()
    first: asyncio.Future[None] = loop.create_future()
    result: list[str] = []

    async def resilient() -> None:
        try:
            await first
        except asyncio.CancelledError:
            result.append("caught")
        await asyncio.sleep(0)
        result.append("went on")

    task = start_eagerly(loop, resilient())
    assert task is not None
    await asyncio.sleep(0)
    first.cancel()  # the awaited future is cancelled, not the task
    await task
    assert result == ["caught", "went on"]
