"""Group commit: batching, per-op failures, failed commits, draining on close."""

from __future__ import annotations

import asyncio
import threading

import pytest

from objectstore.node.groupcommit import GroupCommitter
from objectstore.node.kv import MemoryEngine


class CountingEngine(MemoryEngine):
    """The in-memory engine, counting commits and able to fail one or hold one."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def write(self, fn):
        self.entered.set()
        self.gate.wait(5)
        if self.fail_next:
            self.fail_next = False
            raise OSError(5, "disk on fire")
        return super().write(fn)


def _put(key: bytes):
    def op(txn):
        txn.put("objects", key, b"v")
        return key

    return op


async def test_writes_arriving_during_a_commit_share_the_next_one() -> None:
    engine = CountingEngine()
    gc = GroupCommitter(engine)
    engine.gate.clear()  # hold the first commit in the writer thread
    first = asyncio.ensure_future(gc.submit(_put(b"first")))
    assert await asyncio.to_thread(engine.entered.wait, 5)  # the first commit is under way
    rest = [asyncio.ensure_future(gc.submit(_put(b"k%d" % i))) for i in range(100)]
    await asyncio.sleep(0)
    engine.gate.set()
    assert await first == b"first"
    assert [await r for r in rest] == [b"k%d" % i for i in range(100)]
    assert gc.commits == 2 and gc.ops == 101
    await gc.close()


async def test_a_failing_op_fails_alone() -> None:
    gc = GroupCommitter(MemoryEngine())

    def bad(txn):
        raise KeyError("refused")

    results = await asyncio.gather(gc.submit(_put(b"a")), gc.submit(bad), return_exceptions=True)
    assert results[0] == b"a" and isinstance(results[1], KeyError)
    await gc.close()


async def test_a_failed_commit_fails_every_waiter_and_the_writer_goes_on() -> None:
    engine = CountingEngine()
    gc = GroupCommitter(engine)
    engine.fail_next = True
    results = await asyncio.gather(
        *(gc.submit(_put(b"x")) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, OSError) for r in results)
    assert await gc.submit(_put(b"y")) == b"y"
    with engine.read() as txn:
        assert txn.get("objects", b"x") is None and txn.get("objects", b"y") == b"v"
    await gc.close()


async def test_close_finishes_queued_work() -> None:
    engine = CountingEngine()
    gc = GroupCommitter(engine)
    gc.submit_nowait(_put(b"late"))
    await gc.close()
    with engine.read() as txn:
        assert txn.get("objects", b"late") == b"v"
    with pytest.raises(RuntimeError):
        await gc.submit(_put(b"after"))
