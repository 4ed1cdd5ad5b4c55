"""Fan-out to storage nodes: ``call_many`` with quorum, handoffs and error limiting.

Every multi-node operation of the proxy (object writes, container and account
updates, quorum reads) and of the replicator goes through :func:`call_many`:
call ``fn`` on each node at once, replace a node that fails (unreachable,
timed out, 5xx, full device) by the next handoff, count failures in the
shared :class:`ErrorLimiter`, and report every reply so the caller can judge
the quorum and pick the best answer.

A failure is either a *fault* (the node could not answer: replace it, count
it) or an *answer* (404, 409, 412, 422...: the node spoke, keep it). The
caller's ``is_fault`` decides; the default knows the node client's errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aiohttp

from objectstore.common.errorlimit import ErrorLimiter

log = logging.getLogger(__name__)

N = TypeVar("N")
R = TypeVar("R")


class ErrorLimited(Exception):
    """The node was skipped: it failed too often lately."""


@dataclass
class Reply(Generic[N, R]):
    """What one node did: ``value`` on success, else ``error``."""

    node: N
    slot: int
    value: R | None = None
    error: BaseException | None = None
    handoff: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Outcome(Generic[N, R]):
    """Every reply of one fan-out, in the order they arrived."""

    quorum: int
    replies: list[Reply[N, R]] = field(default_factory=list)

    @property
    def successes(self) -> list[Reply[N, R]]:
        return [r for r in self.replies if r.error is None]

    @property
    def failures(self) -> list[Reply[N, R]]:
        return [r for r in self.replies if r.error is not None]

    @property
    def met(self) -> bool:
        """At least ``quorum`` nodes succeeded."""
        return len(self.successes) >= self.quorum


def quorum_size(replicas: int) -> int:
    """A majority of ``replicas``: the write quorum."""
    return replicas // 2 + 1


def read_quorum(replicas: int) -> int:
    """Replicas a read must consult to overlap every majority write."""
    return replicas - quorum_size(replicas) + 1


def is_fault(exc: BaseException) -> bool:
    """True when ``exc`` means the node could not answer (vs. answered no)."""
    if isinstance(exc, TimeoutError | OSError | aiohttp.ClientError | ErrorLimited):
        return True
    name = type(exc).__name__
    if name in ("NodeUnavailable", "InsufficientStorage"):
        return True
    status = getattr(exc, "status", None)
    return isinstance(status, int) and status >= 500


def _is_full(exc: BaseException) -> bool:
    return type(exc).__name__ == "InsufficientStorage" or getattr(exc, "status", None) == 507


def spares(
    handoffs: Iterable[N] | None, limiter: ErrorLimiter | None, last: Sequence[N] = ()
) -> Iterator[N]:
    """Replacement nodes in order: handoffs that are not error-limited, then ``last``.

    ``last`` holds the limited primaries: a final resort, so a cluster whose
    every node was limited still tries something.
    """
    for node in handoffs or ():
        if limiter is None or not limiter.is_limited(node):
            yield node
    yield from last


def read_order(
    primaries: Sequence[N], handoffs: Iterable[N] | None, limiter: ErrorLimiter | None
) -> Iterator[N]:
    """Nodes to read from, best first: healthy primaries, handoffs, limited primaries."""
    limited = []
    for node in primaries:
        if limiter is not None and limiter.is_limited(node):
            limited.append(node)
        else:
            yield node
    yield from spares(handoffs, limiter, limited)


async def call_many(
    nodes: Sequence[N],
    fn: Callable[[N, int], Awaitable[R]],
    quorum: int,
    timeout: float | None,
    *,
    handoffs: Iterable[N] | None = None,
    limiter: ErrorLimiter | None = None,
    fault: Callable[[BaseException], bool] = is_fault,
    ordered: bool = False,
) -> Outcome[N, R]:
    """Call ``fn(node, slot)`` on every node at once; replace faulty ones by handoffs.

    ``slot`` is the index in ``nodes`` that a call fills (a handoff inherits
    the slot of the node it replaces), so a caller can hand per-replica work
    (such as which container replica to update) to whoever fills the slot.
    Returns when every slot has an answer or has run out of handoffs, or when
    ``timeout`` (seconds for the whole fan-out; None: no limit beyond the
    client's own) expires; unfinished calls are then cancelled and reported
    as ``TimeoutError`` faults.
    """
    outcome: Outcome[N, R] = Outcome(quorum)
    limited = [limiter is not None and limiter.is_limited(n) for n in nodes]
    # ``ordered``: the caller already put limited nodes last in ``handoffs`` (read_order);
    # none of them may be dropped, or a read can miss the only fresh replica.
    spare = spares(
        handoffs,
        None if ordered else limiter,
        [n for n, lim in zip(nodes, limited, strict=True) if lim],
    )
    wave: list[tuple[N, int, bool]] = []
    for slot, node in enumerate(nodes):
        if not limited[slot]:
            wave.append((node, slot, False))
        elif (sub := next(spare, None)) is not None:
            wave.append((sub, slot, sub is not node))
        else:
            outcome.replies.append(Reply(node, slot, error=ErrorLimited()))

    pending: dict[asyncio.Task[R], tuple[N, int, bool]] = {}

    def launch(node: N, slot: int, handoff: bool) -> None:
        pending[asyncio.ensure_future(fn(node, slot))] = (node, slot, handoff)

    for node, slot, handoff in wave:
        launch(node, slot, handoff)
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    try:
        while pending:
            wait = None if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait(pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                break
            for task in done:
                node, slot, handoff = pending.pop(task)
                exc = task.exception()
                if exc is None:
                    outcome.replies.append(Reply(node, slot, task.result(), None, handoff))
                    continue
                outcome.replies.append(Reply(node, slot, None, exc, handoff))
                if fault(exc):
                    _count(limiter, node, exc)
                    sub = next(spare, None)
                    if sub is not None:
                        launch(sub, slot, True)
    finally:
        for task, (node, slot, handoff) in pending.items():
            task.cancel()
            outcome.replies.append(Reply(node, slot, None, TimeoutError(), handoff))
            _count(limiter, node, TimeoutError("fan-out deadline"))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    return outcome


def _count(limiter: ErrorLimiter | None, node: Any, exc: BaseException) -> None:
    if limiter is None or isinstance(exc, ErrorLimited):
        return
    why = f"{type(exc).__name__}: {exc}"
    if _is_full(exc):
        limiter.limit_now(node, why)
    else:
        limiter.record_error(node, why)
    log.info("node %s:%s/%s failed: %s", node.ip, node.port, node.device, why)
