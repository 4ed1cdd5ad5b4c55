"""How the proxy asks one partition's nodes: all at once for a quorum, or one at a time.

Every proxy operation goes through one :class:`Fanout`: writes and updates
call every primary at once (:meth:`Fanout.write`, handoffs replace failed
primaries, a majority is the quorum, :func:`judge` turns the replies into
the answer or the typed error); database reads ask one node at a time
(:meth:`Fanout.first`). The error limiter it holds is the process's own, so
a node that failed for one operation is skipped by the next.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from objectstore import client as nc
from objectstore.common.errorlimit import ErrorLimiter
from objectstore.proxy import errors
from objectstore.proxy.placement import Outcome, call_many, is_fault, quorum_size, read_order
from ring import Ring

R = TypeVar("R")


class Fanout:
    """Quorum calls and first-answer reads over a ring's partitions."""

    def __init__(self, limiter: ErrorLimiter) -> None:
        self.limiter = limiter

    def handoffs(self, ring: Ring, part: int) -> Iterator[Any]:
        """At most one handoff per replica (Swift asks 2 x replicas nodes in all)."""
        return itertools.islice(ring.get_more_nodes(part), ring.replica_count)

    def write(
        self,
        ring: Ring,
        part: int,
        nodes: list[Any],
        fn: Callable[[Any, int], Awaitable[R]],
        *,
        handoffs: Iterator[Any] | None = None,
        fault: Callable[[BaseException], bool] = is_fault,
    ) -> Awaitable[Outcome[Any, R]]:
        """``fn(node, slot)`` on every node at once, until a majority has answered.

        ``handoffs`` replaces the partition's own (a writer that must know when
        they run out); ``fault`` says which failures a handoff may replace.
        """
        return call_many(
            nodes,
            fn,
            quorum_size(len(nodes)),
            None,
            handoffs=self.handoffs(ring, part) if handoffs is None else handoffs,
            limiter=self.limiter,
            fault=fault,
        )

    async def first(
        self, ring: Ring, part: int, nodes: list[Any], fn: Callable[[Any], Awaitable[R]]
    ) -> R:
        """Ask nodes one at a time (healthy primaries first) until one has it.

        Returns fn's result, or raises nc.NotFound when every node that
        answered had nothing, or ServiceUnavailable when none answered.
        Once every primary (or its stand-in) has said "not here", the
        handoffs left are asked all at once, in one more round trip: a
        database made while every primary was down lives only there until
        replication moves it home.
        """
        missing = 0
        order = read_order(nodes, self.handoffs(ring, part), self.limiter)
        for dev in order:
            try:
                return await fn(dev)
            except nc.NotFound:
                missing += 1
                if missing >= len(nodes):
                    return await self._any_of(list(order), fn)
            except nc.BadRequest as exc:
                raise errors.InvalidInput(exc.body) from exc
            except (nc.NodeUnavailable, nc.NodeError) as exc:
                self.limiter.record_error(dev, repr(exc))
        if missing:
            raise nc.NotFound(404)
        raise errors.ServiceUnavailable("no storage node answered")

    async def _any_of(self, devs: list[Any], fn: Callable[[Any], Awaitable[R]]) -> R:
        """The first answer of ``devs`` asked at once (nc.NotFound when none has it)."""

        async def one(dev: Any) -> R:
            try:
                return await fn(dev)
            except (nc.NodeUnavailable, nc.NodeError) as exc:
                self.limiter.record_error(dev, repr(exc))
                raise

        tasks = [asyncio.ensure_future(one(dev)) for dev in devs]
        try:
            for next_done in asyncio.as_completed(tasks):
                try:
                    return await next_done
                except nc.BadRequest as exc:
                    raise errors.InvalidInput(exc.body) from exc
                except (nc.NotFound, nc.NodeUnavailable, nc.NodeError):
                    continue
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        raise nc.NotFound(404)


def judge(
    out: Outcome[Any, Any], missing: type[errors.NotFound], *, tombstone: bool = False
) -> None:
    """Raise unless a quorum succeeded: the majority answer, or 503.

    ``tombstone``: a DELETE, which leaves its tombstone on the nodes that
    answer "not found" too; once it is on a quorum, a tie between "deleted"
    and "not found" means a replica did hold the object: success, not 404
    (a replica that missed the last write must not make a DELETE of an
    acknowledged object answer that nothing was there).
    """
    ok = len(out.successes)
    nf = sum(isinstance(r.error, nc.NotFound) for r in out.failures)
    conflict = sum(isinstance(r.error, nc.Conflict) for r in out.failures)
    if ok >= out.quorum:
        return
    bad = [e for e in (r.error for r in out.failures) if isinstance(e, nc.BadRequest)]
    if bad:
        raise errors.InvalidInput(bad[0].body)
    if conflict and conflict >= nf and ok + nf + conflict >= out.quorum:
        raise errors.Conflict()
    if tombstone and ok and ok >= nf and ok + nf >= out.quorum:
        return
    if nf and ok + nf >= out.quorum and nf >= ok:
        raise missing()
    if ok and ok + nf >= out.quorum:
        return
    raise errors.ServiceUnavailable("too few storage nodes answered")
