"""Group commit: many concurrent writes of one device share one durable commit.

Each write is a function of the write transaction. While one commit runs in
the device's writer thread (never on the event loop: an fsync can take
milliseconds), new writes queue up; when it finishes, everything queued is
committed together in the next transaction and each waiter gets its own
result. Under load the batch grows by itself, so the number of fsyncs per
second stays flat while the writes per second climb.

Ops must check before they write: an op that raises must not have written
anything (its exception goes to its own waiter; the others still commit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from objectstore.node.kv import ENGINE_ERRORS, Engine, WriteTxn

T = TypeVar("T")
log = logging.getLogger(__name__)

Op = Callable[[WriteTxn], Any]


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class GroupCommitter:
    """The single writer of one device's engine."""

    def __init__(self, engine: Engine, name: str = "dev", max_batch: int = 2048) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"commit-{name}")
        self._queue: list[tuple[Op, asyncio.Future[Any] | None]] = []
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        #: Durable commits made, and ops they carried (for tests and stats).
        self.commits = 0
        self.ops = 0
        #: Called on the loop after each commit (e.g. to wake a reporter).
        self.after_commit: list[Callable[[], None]] = []

    async def submit(self, op: Callable[[WriteTxn], T]) -> T:
        """Run ``op`` in the next group commit; return once it is durable."""
        if self._closed:
            raise RuntimeError("device writer is closed")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((op, fut))
        self._kick()
        return await fut

    def submit_nowait(self, op: Op) -> None:
        """Queue ``op`` for the next commit without waiting (idempotent cleanups)."""
        if self._closed:
            return
        self._queue.append((op, None))
        self._kick()

    def _kick(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        # One turn of the loop lets requests that arrived together join.
        await asyncio.sleep(0)
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            ops = [op for op, _ in batch]
            try:
                results = await loop.run_in_executor(self._executor, self._commit, ops)
            except BaseException as exc:  # the commit itself failed: nobody is durable
                log.error("group commit of %d ops failed: %r", len(ops), exc)
                for _, fut in batch:
                    if fut is not None and not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
                if not isinstance(exc, Exception):
                    raise
                continue
            self.commits += 1
            self.ops += len(ops)
            for (_, fut), result in zip(batch, results, strict=True):
                if fut is None or fut.done():
                    continue
                if isinstance(result, _Failed):
                    fut.set_exception(result.exc)
                else:
                    fut.set_result(result)
            for hook in self.after_commit:
                hook()

    def _commit(self, ops: list[Op]) -> list[Any]:
        def apply(txn: WriteTxn) -> list[Any]:
            out: list[Any] = []
            for op in ops:
                try:
                    out.append(op(txn))
                except ENGINE_ERRORS:
                    raise  # the transaction is spoilt: the whole batch fails
                except Exception as exc:
                    out.append(_Failed(exc))
            return out

        return self.engine.write(apply)

    async def run_in_thread(self, fn: Callable[[], T]) -> T:
        """Run blocking work (body fsync, rename) off the loop, beside the commits."""
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    async def close(self) -> None:
        """Finish queued and in-flight commits, then stop the writer thread."""
        self._closed = True
        while self._runner is not None and not self._runner.done():
            await asyncio.shield(self._runner)
        self._executor.shutdown(wait=True)
