"""SharedExclusive: shared holders together, exclusive alone, no writer starvation."""

from __future__ import annotations

import asyncio

import pytest

from blockstore.scsi.gate import SharedExclusive


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_shared_holders_coexist_and_exclusive_waits_for_them() -> None:
    gate = SharedExclusive()
    order: list[str] = []
    first, second = gate.shared(), gate.shared()
    await first.__aenter__()
    await second.__aenter__()  # a second shared holder does not wait

    async def exclusive() -> None:
        async with gate.exclusive():
            order.append("exclusive")

    task = asyncio.create_task(exclusive())
    await settle()
    assert order == []
    await first.__aexit__(None, None, None)
    await settle()
    assert order == [], "exclusive must wait for every shared holder"
    await second.__aexit__(None, None, None)
    await settle()
    assert order == ["exclusive"]
    await task


async def test_waiting_exclusive_blocks_new_shared_holders() -> None:
    gate = SharedExclusive()
    order: list[str] = []
    held = gate.shared()
    await held.__aenter__()

    async def take(kind: str) -> None:
        async with gate.exclusive() if kind == "x" else gate.shared():
            order.append(kind)
            await settle()

    writer = asyncio.create_task(take("x"))
    await settle()
    reader = asyncio.create_task(take("s"))
    await settle()
    assert order == [], "a shared holder must queue behind a waiting exclusive one"
    await held.__aexit__(None, None, None)
    await asyncio.gather(writer, reader)
    assert order == ["x", "s"]


async def test_exclusive_holders_exclude_each_other() -> None:
    gate = SharedExclusive()
    inside = 0
    peak = 0

    async def critical() -> None:
        nonlocal inside, peak
        async with gate.exclusive():
            inside += 1
            peak = max(peak, inside)
            await settle()
            inside -= 1

    await asyncio.gather(*(critical() for _ in range(5)))
    assert peak == 1


async def test_cancelled_exclusive_waiter_lets_shared_holders_in() -> None:
    gate = SharedExclusive()
    held = gate.shared()
    await held.__aenter__()
    writer = asyncio.create_task(gate.exclusive().__aenter__())
    await settle()
    got_in = asyncio.Event()

    async def reader() -> None:
        async with gate.shared():
            got_in.set()

    task = asyncio.create_task(reader())
    await settle()
    assert not got_in.is_set()
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    await asyncio.wait_for(got_in.wait(), 5)
    await task
    await held.__aexit__(None, None, None)
    async with gate.exclusive():  # nothing is left held
        pass


async def test_exception_inside_releases_the_gate() -> None:
    gate = SharedExclusive()
    with pytest.raises(RuntimeError):
        async with gate.exclusive():
            raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        async with gate.shared():
            raise RuntimeError("boom")
    async with gate.exclusive():
        pass
