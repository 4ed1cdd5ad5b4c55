"""Workers: passes on an interval or on demand, state kept; pacers keep a rate."""

from __future__ import annotations

import asyncio

from objectstore.node.worker import Pacer, Worker


class Counting(Worker):
    name = "counting"

    def __init__(self, interval: float = 3600.0, fail: bool = False) -> None:
        super().__init__(interval)
        self.calls = 0
        self.fail = fail
        self.gate: asyncio.Event | None = None

    async def run_pass(self) -> dict:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("boom")
        return {"n": self.calls}


async def test_trigger_runs_a_pass_without_the_loop() -> None:
    w = Counting()
    status = await w.trigger()
    assert status["passes"] == 1 and status["last"] == {"n": 1} and status["lag"] is not None


async def test_trigger_wakes_the_loop_and_waits_for_a_fresh_pass() -> None:
    w = Counting()
    task = w.start()
    try:
        w.gate = asyncio.Event()
        first = asyncio.ensure_future(w.trigger())
        while not w.running:
            await asyncio.sleep(0)
        second = asyncio.ensure_future(w.trigger())  # asked during pass 1: needs pass 2
        w.gate.set()
        assert (await first)["passes"] >= 1
        assert (await second)["passes"] == 2
    finally:
        w.stop()
        await task


async def test_a_failing_pass_is_counted_not_fatal() -> None:
    w = Counting(fail=True)
    status = await w.trigger()
    assert status["failures"] == 1 and "boom" in status["last_error"] and status["passes"] == 0


def test_pacer_delays_past_its_rate() -> None:
    now = [0.0]
    p = Pacer(100.0, clock=lambda: now[0])
    assert p.delay_for(100) == 0.0  # one second of budget to start with
    assert p.delay_for(50) == 0.5
    now[0] += 1.0
    assert p.delay_for(10) == 0.0  # refilled (never beyond one second's worth)
    assert Pacer(0).delay_for(10**9) == 0.0  # 0: unlimited
