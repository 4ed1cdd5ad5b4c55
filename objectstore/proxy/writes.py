"""Object PUT: the client's body, read once, streamed to every primary at once.

Small bodies (up to ``BUFFER_LIMIT``, which covers most objects) are read
whole first: the MD5 is known before any node is called, a wrong ETag is
refused without touching a node, and a failed primary's handoff gets the
same bytes again. Larger bodies go through a feeder that reads the client
body once in batches of about ``FEED_BATCH`` bytes, hashes each batch in a
worker thread (MD5 releases the GIL, so the loop keeps sending the previous
batch meanwhile) and puts it on one bounded queue per node (``QUEUE_DEPTH``
batches), so memory stays bounded and the slowest healthy node sets the
pace. A node that fails before it took its first chunk is
replaced by a handoff that takes over its untouched queue; one that fails
mid-stream is dropped, and the write goes on while a quorum is left.

A body that ends early, breaks, or outgrows the size limit aborts every
node request, so no node stores a partial object.

Metadata known only once the body has been read (S3's trailing checksum)
is a *footer*: a small body is read whole first, so its footer simply joins
the stored metadata; a streamed body sends it to every node after the last
byte (see ``objectstore.common.footer``), and each node commits it with the
object. One fan-out, and no moment when the object exists without it.

:class:`Writer` is given everything it uses (the object ring, the node
client, the fan-out with its error limiter, the size limit and the node
timeout); it knows nothing of the core that builds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from objectstore import client as nc
from objectstore.proxy import errors
from objectstore.proxy.fanout import Fanout
from objectstore.proxy.models import PutResult
from objectstore.proxy.placement import Outcome, is_fault, quorum_size
from objectstore.timestamp import Timestamp
from ring import Ring

log = logging.getLogger(__name__)

BUFFER_LIMIT = 256 * 1024
QUEUE_DEPTH = 4
FEED_BATCH = 1024 * 1024
# MD5 of large uploads, off the event loop (one batch per hand-off; a batch is ~1 ms of work).
_HASHERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="put-md5")
_EOF = object()
_ABORT = object()


class BodyAborted(Exception):
    """The client's body failed; the node request is abandoned on purpose."""


class StreamLost(Exception):
    """A replacement came too late: the failed node had already taken data."""


@dataclass
class PutTarget:
    """Everything a node PUT needs besides the node and the body."""

    part: int
    account: str
    container: str
    name: str
    timestamp: Timestamp
    content_type: str
    stored: dict[str, str]
    updates: Sequence[nc.ContainerUpdate | None]
    delete_at: int | None
    expected_etag: str | None
    # Stored entries known only once the body is read (called after its last byte).
    footer: Callable[[], Mapping[str, str]] | None = None


async def read_prefix(
    body: AsyncIterable[bytes], limit: int
) -> tuple[list[bytes], int, AsyncIterator[bytes] | None]:
    """Read chunks until more than ``limit`` bytes or the end.

    Returns (chunks, size, rest): ``rest`` is None when the body ended.
    """
    chunks: list[bytes] = []
    size = 0
    it = aiter(body)
    while size <= limit:
        try:
            chunk = await anext(it)
        except StopAsyncIteration:
            return chunks, size, None
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
    return chunks, size, it


def client_error(exc: BaseException) -> errors.ProxyError:
    """What a failure while reading the client's body means for the client."""
    if isinstance(exc, errors.ProxyError):
        return exc
    if isinstance(exc, TimeoutError):
        return errors.ClientTimeout("timed out reading the request body")
    return errors.ClientDisconnected(f"request body failed: {exc!r}")


def check_length(size: int, content_length: int | None, limit: int) -> None:
    if size > limit:
        raise errors.EntityTooLarge(f"body larger than {limit} bytes")
    if content_length is not None and size != content_length:
        raise errors.ClientDisconnected(f"body of {size} bytes, {content_length} announced")


class Writer:
    """Stores object bodies on a quorum of their primaries (or handoffs)."""

    def __init__(
        self,
        ring: Ring,
        client: nc.NodeClient,
        fan: Fanout,
        *,
        max_object_size: int,
        node_timeout: float,
    ) -> None:
        self.ring = ring
        self.client = client
        self.fan = fan
        self.max_object_size = max_object_size
        self.node_timeout = node_timeout

    async def put(
        self,
        target: PutTarget,
        body: AsyncIterable[bytes] | bytes,
        content_length: int | None,
    ) -> PutResult:
        """Store one object; ``content_length`` None means read the body to its end."""
        if isinstance(body, bytes | bytearray | memoryview):
            data, rest = bytes(body), None
        else:
            try:
                chunks, _size, rest = await read_prefix(body, BUFFER_LIMIT)
            except Exception as exc:
                raise client_error(exc) from exc
            data = b"".join(chunks)
        if rest is None:
            check_length(len(data), content_length, self.max_object_size)
            etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if target.expected_etag is not None and target.expected_etag != etag:
                raise errors.EtagMismatch("body does not match the ETag sent")
            target.expected_etag = etag
            if target.footer is not None:  # the body is all here: the footer is known
                target.stored = {**target.stored, **target.footer()}
                target.footer = None
            outcome = await self._put_buffered(target, data)
            return put_result(outcome, etag, len(data), target.timestamp)
        return await _Feeder(self, target, data, rest, content_length).run()

    async def _put_buffered(self, target: PutTarget, data: bytes) -> Outcome[Any, Any]:
        nodes = self.ring.get_part_nodes(target.part)

        async def send(dev: Any, slot: int) -> nc.ObjectInfo:
            return await self.node_put(dev, target, slot, data, len(data))

        return await self.fan.write(self.ring, target.part, nodes, send)

    async def node_put(
        self,
        dev: Any,
        t: PutTarget,
        slot: int,
        body: Any,
        length: int | None,
        footer: Callable[[], Mapping[str, str]] | None = None,
    ) -> nc.ObjectInfo:
        return await self.client.put_object(
            dev,
            t.part,
            t.account,
            t.container,
            t.name,
            timestamp=t.timestamp,
            body=body,
            content_length=length,
            content_type=t.content_type,
            metadata=t.stored,
            container_update=t.updates[slot] if slot < len(t.updates) else None,
            delete_at=t.delete_at,
            expected_etag=t.expected_etag,
            footer=footer,
        )


def put_result(
    outcome: Outcome[Any, nc.ObjectInfo], etag: str | None, size: int, ts: Timestamp
) -> PutResult:
    """The result of a PUT fan-out: stored on a quorum, or the best error."""
    good = 0
    for reply in outcome.replies:
        if reply.ok:
            stored = reply.value
            assert stored is not None  # a node that stored the object answers with its info
            if etag is None or stored.etag == etag:
                good += 1
            else:
                log.error("node %s stored etag %s, expected %s", reply.node, stored.etag, etag)
        elif isinstance(reply.error, nc.Conflict):
            good += 1  # a newer version is there already: this write is superseded, not lost
    if good >= outcome.quorum:
        return PutResult(etag or "", ts, size)
    errs = [r.error for r in outcome.failures]
    if any(isinstance(e, nc.EtagMismatch) for e in errs):
        raise errors.EtagMismatch("body does not match the ETag sent")
    bad = [e for e in errs if isinstance(e, nc.BadRequest)]
    if bad:
        raise errors.InvalidInput(bad[0].body)
    log.warning("PUT quorum not met: %d of %d (%s)", good, outcome.quorum, _summary(errs))
    raise errors.ServiceUnavailable("too few storage nodes stored the object")


def _summary(errs: list[BaseException | None]) -> str:
    return ", ".join(sorted({type(e).__name__ for e in errs if e is not None}))


def _md5_all(md5: Any, pieces: list[bytes]) -> None:
    for piece in pieces:
        md5.update(piece)


class _Channel:
    """One slot's copy of the body: a bounded queue that the feeder fills."""

    __slots__ = ("dead", "orphan", "queue", "stalled", "started", "task")

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_DEPTH)
        self.started = False  # the node took a chunk: no handoff can take over
        self.dead = False  # nobody reads this queue any more
        self.orphan = False  # its node failed untouched: waiting for a handoff
        self.stalled = False
        self.task: asyncio.Task[Any] | None = None

    async def put(self, item: Any) -> None:
        if not self.dead:
            await self.queue.put(item)

    def _drain(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()

    def kill(self) -> None:
        self.dead = True
        self.orphan = False
        self._drain()

    def abort(self) -> None:
        self._drain()
        self.queue.put_nowait(_ABORT)

    async def iterate(self) -> AsyncIterator[bytes]:
        while True:
            item = await self.queue.get()
            self.started = True
            if item is _EOF:
                return
            if item is _ABORT:
                raise BodyAborted()
            for piece in item:  # a batch: the pieces as the client sent them
                yield piece


class _Feeder:
    """Streams a large body to every slot's channel; see the module docstring."""

    def __init__(
        self,
        writer: Writer,
        target: PutTarget,
        prefix: bytes,
        rest: AsyncIterator[bytes],
        content_length: int | None,
    ) -> None:
        self.w = writer
        self.t = target
        self.prefix = prefix
        self.rest = rest
        self.content_length = content_length
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.nodes = writer.ring.get_part_nodes(target.part)
        self.quorum = quorum_size(len(self.nodes))
        self.channels = [_Channel() for _ in self.nodes]
        self.exhausted = False
        self.aborted = False
        self.footer: Mapping[str, str] | None = None  # known once the body has ended

    async def run(self) -> PutResult:
        feeding = asyncio.ensure_future(self._feed())
        outcome = await self.w.fan.write(
            self.w.ring,
            self.t.part,
            self.nodes,
            self._send,
            handoffs=self._spares(),
            fault=lambda exc: not self.aborted and is_fault(exc),
        )
        if not feeding.done():
            feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
        failed = None if feeding.cancelled() else feeding.exception()
        if failed is not None:
            raise failed
        return put_result(outcome, self.md5.hexdigest(), self.size, self.t.timestamp)

    def _spares(self) -> Iterator[Any]:
        yield from self.w.fan.handoffs(self.w.ring, self.t.part)
        self.exhausted = True
        for ch in self.channels:
            if ch.orphan:
                ch.kill()

    async def _send(self, dev: Any, slot: int) -> nc.ObjectInfo:
        ch = self.channels[slot]
        if ch.started or ch.dead:
            raise StreamLost()
        ch.orphan = False
        ch.task = asyncio.current_task()
        try:
            footer = None if self.t.footer is None else self._footer
            return await self.w.node_put(
                dev, self.t, slot, ch.iterate(), self.content_length, footer
            )
        except asyncio.CancelledError:
            if ch.stalled:
                raise nc.NodeUnavailable(f"{dev.ip}:{dev.port}", "stopped reading") from None
            raise
        except BaseException as exc:
            if is_fault(exc) and not ch.started and not self.exhausted and not self.aborted:
                ch.orphan = True
            else:
                ch.kill()
            raise

    def _footer(self) -> Mapping[str, str]:
        assert self.footer is not None  # a node asks only after the end of the body
        return self.footer

    def _live(self) -> int:
        return sum(not ch.dead for ch in self.channels)

    async def _feed(self) -> None:
        try:
            batch, batched = [self.prefix], len(self.prefix)
            while True:
                try:
                    chunk = await anext(self.rest)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    raise client_error(exc) from exc
                if chunk:
                    batch.append(chunk)
                    batched += len(chunk)
                if batched >= FEED_BATCH:
                    await self._push(batch, batched)
                    batch, batched = [], 0
            await self._push(batch, batched)
            check_length(self.size, self.content_length, self.w.max_object_size)
            if self.t.expected_etag is not None and self.t.expected_etag != self.md5.hexdigest():
                raise errors.EtagMismatch("body does not match the ETag sent")
            if self.t.footer is not None:
                self.footer = self.t.footer()
            for ch in self.channels:
                await ch.put(_EOF)
        except BaseException:
            self.aborted = True
            for ch in self.channels:
                ch.abort()
            raise

    async def _push(self, batch: list[bytes], size: int) -> None:
        """Hash one batch (in a thread) while handing it to every live node's queue."""
        if not size:
            return
        self.size += size
        if self.size > self.w.max_object_size:
            raise errors.EntityTooLarge(f"body larger than {self.w.max_object_size} bytes")
        if self.content_length is not None and self.size > self.content_length:
            raise errors.ClientDisconnected("body longer than announced")
        hashing = asyncio.get_running_loop().run_in_executor(_HASHERS, _md5_all, self.md5, batch)
        try:
            for ch in self.channels:
                if ch.dead:
                    continue
                if not ch.queue.full():  # the usual case: no timer needed
                    ch.queue.put_nowait(batch)
                    continue
                try:
                    await asyncio.wait_for(ch.put(batch), self.w.node_timeout)
                except TimeoutError:
                    self._stalled(ch)
        finally:
            await hashing  # one batch at a time: MD5 updates stay in order
        if self._live() < self.quorum:
            raise errors.ServiceUnavailable("too few storage nodes left for the upload")

    def _stalled(self, ch: _Channel) -> None:
        log.warning("a storage node stopped reading an upload; dropping it")
        ch.stalled = True
        ch.kill()
        if ch.task is not None:
            ch.task.cancel()
