"""Object reads: ask a read quorum, let the newest timestamp win, count tombstones.

A GET opens the body on the first healthy primary and, at the same time,
asks enough other replicas (HEAD) to overlap every majority write
(``read_quorum``); ``newest`` asks them all (Swift's X-Newest). Faulty
nodes are replaced by the next candidates (primaries, then handoffs). The
newest answer wins; a tombstone newer than every data answer means the
object is gone, and so does an X-Delete-At in the past. Only when nobody
holding data or a tombstone answered are the remaining primaries and the
handoffs asked too, so data written while primaries were down is still
found. If the opened body is not the winner it is closed and the winner's
node is read instead.

Byte ranges are served from the opened body while they move forward
through it (small objects: one node request for any ranges); a range far
ahead, or behind, gets its own ranged GET on the same node.

:class:`Reader` is given what it uses (the object ring, the node client,
the fan-out with its error limiter) and knows nothing of the core.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from objectstore import client as nc
from objectstore.common import retention
from objectstore.common.errorlimit import node_key
from objectstore.proxy import errors
from objectstore.proxy.fanout import Fanout
from objectstore.proxy.placement import call_many, read_order, read_quorum
from objectstore.proxy.ranges import RangeSpec, resolve
from objectstore.timestamp import Timestamp, wall_clock
from ring import Ring

SKIP_LIMIT = 256 * 1024  # read past at most this much of an open body to reach a range


@dataclass
class Answer:
    node: Any
    info: nc.ObjectInfo | None = None
    tombstone: Timestamp | None = None
    stream: nc.ObjectStream | None = None

    @property
    def found(self) -> nc.ObjectInfo:
        """The info of an answer that found the object (one with a stream did)."""
        assert self.info is not None
        return self.info

    @property
    def version(self) -> tuple[Timestamp, Timestamp]:
        info = self.found
        return info.timestamp, info.meta_timestamp or info.timestamp


@dataclass
class Located:
    """The winning version of an object, where it lives, and maybe its open body."""

    info: nc.ObjectInfo
    part: int
    holders: list[Any]  # nodes holding this data version, best first
    stream: nc.ObjectStream | None


class Reader:
    """Finds an object's newest version and opens its bytes on a node that holds it."""

    def __init__(self, ring: Ring, client: nc.NodeClient, fan: Fanout) -> None:
        self.ring = ring
        self.client = client
        self.fan = fan

    async def locate(
        self, account: str, container: str, name: str, *, body: bool, newest: bool
    ) -> Located:
        """Find the newest version (ObjectNotFound when deleted, expired or absent)."""
        part, primaries = self.ring.get_nodes(account, container, name)
        limiter = self.fan.limiter
        order = list(read_order(primaries, self.fan.handoffs(self.ring, part), limiter))
        want = len(primaries) if newest else read_quorum(len(primaries))
        client = self.client

        def asker(open_body: bool) -> Callable[[Any, int], Awaitable[Answer]]:
            async def ask(dev: Any, slot: int) -> Answer:
                try:
                    if open_body and slot == 0:
                        stream = await client.get_object(dev, part, account, container, name)
                        return Answer(dev, stream.info, None, stream)
                    info = await client.head_object(dev, part, account, container, name)
                    return Answer(dev, info)
                except nc.NotFound as exc:
                    return Answer(dev, tombstone=exc.timestamp)

            return ask

        first = await call_many(
            order[:want],
            asker(body),
            want,
            None,
            handoffs=iter(order[want:]),
            limiter=limiter,
            ordered=True,
        )
        answers = [r.value for r in first.successes if r.value is not None]  # every ask answers
        failures = [r.error for r in first.failures]
        if not any(a.info or a.tombstone for a in answers):
            asked = {node_key(r.node) for r in first.replies}
            rest = [n for n in order if node_key(n) not in asked]
            if rest:
                more = await call_many(rest, asker(False), 1, None, limiter=limiter)
                answers += [r.value for r in more.successes if r.value is not None]
                failures += [r.error for r in more.failures]
        return _decide(answers, failures, part, body)

    def candidates(self, located: Located) -> Iterator[Any]:
        """Known holders first, then the partition's other primaries and handoffs: a
        holder may just have found its copy corrupt (it sets it aside and answers 404)."""
        part = located.part
        seen = set()
        for dev in itertools.chain(
            located.holders, self.ring.get_part_nodes(part), self.fan.handoffs(self.ring, part)
        ):
            if node_key(dev) not in seen:
                seen.add(node_key(dev))
                yield dev

    async def reopen(
        self, names: tuple[str, str, str], located: Located, range_header: str | None
    ) -> nc.ObjectStream:
        """A new GET of the located version on a node that holds it."""
        account, container, name = names
        want = located.info.timestamp
        for dev in self.candidates(located):
            try:
                stream = await self.client.get_object(
                    dev, located.part, account, container, name, range_header=range_header
                )
            except (nc.NodeUnavailable, nc.NodeError) as exc:
                if not isinstance(exc, nc.NotFound):
                    self.fan.limiter.record_error(dev, repr(exc))
                continue
            if stream.info.timestamp == want:
                return stream
            stream.close()
        raise errors.ServiceUnavailable("no node serves this version any more")


def _decide(answers: list[Answer], failures: list[Any], part: int, body: bool) -> Located:
    data = [a for a in answers if a.info is not None]
    tomb = max((a.tombstone for a in answers if a.tombstone is not None), default=None)
    best = max(data, key=lambda a: a.version, default=None)
    gone = (
        best is None or (tomb is not None and tomb >= best.found.timestamp) or _expired(best.found)
    )
    if gone:
        for a in answers:
            if a.stream is not None:
                a.stream.close()
        if best is None and not answers:
            bad = [e for e in failures if isinstance(e, nc.BadRequest)]
            if bad:
                raise errors.InvalidInput(bad[0].body)
            raise errors.ServiceUnavailable("no storage node answered")
        raise errors.ObjectNotFound()
    assert best is not None and best.info is not None
    ts = best.info.timestamp
    holders = [best.node] + [a.node for a in data if a is not best and a.found.timestamp == ts]
    stream = None
    for a in answers:
        if a.stream is None:
            continue
        if stream is None and a.found.timestamp == ts:
            stream = a.stream  # same data; metadata may come from a newer POST elsewhere
            holders.remove(a.node)
            holders.insert(0, a.node)
        else:
            a.stream.close()
    return Located(best.info, part, holders, stream if body else None)


def _expired(info: nc.ObjectInfo) -> bool:
    """Past its X-Delete-At, unless retained (:mod:`objectstore.common.retention`)."""
    now = wall_clock()
    if info.delete_at is None or info.delete_at > now:
        return False
    return not retention.node_retained(info.metadata, now)


class ObjectBody:
    """The bytes of one object version: the whole object, or byte ranges of it.

    ``ranges`` is None for the whole object, else the resolved half-open
    ranges. Iterate :meth:`chunks` (whole object, or the single range) or
    :meth:`range_chunks` per range; always :meth:`close`.
    """

    def __init__(
        self,
        reader: Reader,
        names: tuple[str, str, str],
        located: Located,
        ranges: Sequence[tuple[int, int]] | None,
    ) -> None:
        self.reader = reader
        self.names = names
        self.located = located
        self.ranges = list(ranges) if ranges is not None else None
        self._stream = located.stream
        self._iter: AsyncIterator[bytes] | None = None
        self._buf = b""
        self._pos = 0  # object offset of the next byte of the open stream

    @property
    def size(self) -> int:
        return self.located.info.size

    def select(self, specs: Sequence[RangeSpec]) -> list[tuple[int, int]]:
        """Serve only these byte ranges (RangeNotSatisfiable when none is)."""
        resolved = resolve(specs, self.size)
        if not resolved:
            self.close()
            raise errors.RangeNotSatisfiable(self.size)
        self.ranges = resolved
        return resolved

    async def chunks(self) -> AsyncIterator[bytes]:
        """The whole object, or its only range."""
        if self.ranges is None:
            if self._stream is None:
                self._stream = await self._open(None)
            async for chunk in self._stream.iter_chunks():
                yield chunk
            return
        start, stop = self.ranges[0]
        async for chunk in self.range_chunks(start, stop):
            yield chunk

    async def range_chunks(self, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes ``[start, stop)`` of the object."""
        if self._stream is not None and self._pos <= start <= self._pos + SKIP_LIMIT:
            async for piece in self._from_stream(start, stop):
                yield piece
            return
        self.close()
        stream = await self._open(f"bytes={start}-{stop - 1}")
        try:
            async for chunk in stream.iter_chunks():
                yield chunk
        finally:
            stream.close()

    async def read(self) -> bytes:
        """Everything :meth:`chunks` yields (small objects, tests)."""
        return b"".join([c async for c in self.chunks()])

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
            self._iter = None

    async def _next_piece(self) -> bytes | None:
        if self._buf:
            piece, self._buf = self._buf, b""
            return piece
        if self._iter is None:
            assert self._stream is not None
            self._iter = aiter(self._stream.iter_chunks())
        try:
            return await anext(self._iter)
        except StopAsyncIteration:
            return None

    async def _from_stream(self, start: int, stop: int) -> AsyncIterator[bytes]:
        while self._pos < stop:
            piece = await self._next_piece()
            if piece is None:
                raise errors.ServiceUnavailable("object body ended early")
            base = self._pos
            end = base + len(piece)
            if end <= start:
                self._pos = end
                continue
            lo = max(start - base, 0)
            hi = min(stop - base, len(piece))
            if hi < len(piece):
                self._buf = piece[hi:]
                self._pos = base + hi
            else:
                self._pos = end
            yield piece if lo == 0 and hi == len(piece) else piece[lo:hi]

    async def _open(self, range_header: str | None) -> nc.ObjectStream:
        return await self.reader.reopen(self.names, self.located, range_header)
