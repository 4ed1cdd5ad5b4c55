"""A buffered asyncio protocol that reads PDUs with as few copies as possible.

Small reads (headers, digests, text) are served from one receive buffer.
A large data segment is read by handing the caller's own buffer (a slice of
a write command's data-out buffer) to the event loop, so the kernel copies
the payload straight to where the logical unit will read it. Writes go out
with ``writelines`` (header and data as separate buffers, no joining) and
respect the transport's flow control. PDUs queued during one turn of the
event loop leave in one system call: when many commands finish together,
their responses share a ``sendmsg`` instead of paying one each. What the
reading task itself queues (answers to commands it ran on its own stack)
is sent when it has no more input to work on, just before it waits, which
spares the extra turn of the loop a scheduled flush would cost.
"""

from __future__ import annotations

import asyncio
import socket
from asyncio import current_task
from collections.abc import Callable, Coroutine
from typing import Any, cast

_BUFFER = 128 * 1024  # per connection; payloads of writes bypass it
_LOW_FREE = 32 * 1024  # compact (or pause) when less than this is free
_DIRECT_MIN = 16 * 1024  # reads this large bypass the receive buffer
_FLUSH_AT = 256 * 1024  # queued output this large is written at once


class StreamClosed(ConnectionError):
    """The peer closed the connection or it broke."""


class PduStream(asyncio.BufferedProtocol):
    """One TCP connection: awaitable exact reads, buffered writes, drain."""

    def __init__(self, handler: Callable[[PduStream], Coroutine[Any, Any, None]]) -> None:
        self._handler = handler
        self._buf = bytearray(_BUFFER)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._direct: memoryview | None = None
        self._want = 0
        self._waiter: asyncio.Future[None] | None = None
        self._closed: BaseException | None = None
        self._paused = False
        self._can_write = asyncio.Event()  # clear while the transport is over its high water
        self._can_write.set()
        self._pending: list[bytes | bytearray | memoryview] = []
        self._pending_bytes = 0
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.peer: str = "?"
        self.local: tuple = ()

    # -- protocol callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream's transport: uvloop's is no asyncio.Transport subclass but has its methods.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.local = transport.get_extra_info("sockname") or ()
        self._loop = asyncio.get_running_loop()
        self.task = self._loop.create_task(self._handler(self))

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._direct is not None:
            return self._direct
        if self._start == self._end:
            self._start = self._end = 0
        elif len(self._buf) - self._end < _LOW_FREE and self._start:
            n = self._end - self._start
            self._buf[0:n] = self._buf[self._start : self._end]
            self._start, self._end = 0, n
        if self._end == len(self._buf):  # full despite pausing: grow, never drop bytes
            grown = bytearray(len(self._buf) * 2)
            grown[: self._end] = self._buf[: self._end]
            self._buf, self._view = grown, memoryview(grown)
        return self._view[self._end :]

    def buffer_updated(self, nbytes: int) -> None:
        if self._direct is not None:
            self._direct = self._direct[nbytes:]
            if not len(self._direct):
                self._direct = None
                self._wake()
            return
        self._end += nbytes
        if self._end - self._start >= self._want:
            self._wake()
        if len(self._buf) - (self._end - self._start) < _LOW_FREE and not self._paused:
            self._paused = True
            assert self.transport is not None
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self._fail(StreamClosed("peer closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(StreamClosed(str(exc) if exc else "connection closed"))
        self._can_write.set()  # wake every drainer; they see the connection is closed

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # -- reading ------------------------------------------------------------------------

    async def read_exactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes (copied out of the receive buffer)."""
        if self._end - self._start < n:
            if n >= _DIRECT_MIN:
                out = bytearray(n)
                await self.read_into(memoryview(out))
                return bytes(out)
            await self._fill(n)
        start = self._start
        self._start = start + n
        data = bytes(self._view[start : start + n])
        self._consumed()
        return data

    async def read_into(self, dest: memoryview) -> None:
        """Fill ``dest`` exactly; large remainders are received into it directly."""
        n = len(dest)
        take = min(n, self._end - self._start)
        if take:
            dest[:take] = self._view[self._start : self._start + take]
            self._start += take
            self._consumed()
        if take == n:
            return
        rest = dest[take:]
        if len(rest) >= _DIRECT_MIN:
            self._check_open()
            self._direct = rest
            self._resume()
            try:
                await self._wait()
            finally:
                self._direct = None
            return
        await self._fill(len(rest))
        rest[:] = self._view[self._start : self._start + len(rest)]
        self._start += len(rest)
        self._consumed()

    async def skip(self, n: int) -> None:
        """Read and discard ``n`` bytes."""
        while n:
            chunk = min(n, len(self._buf) // 2)
            await self._fill(chunk)
            self._start += chunk
            self._consumed()
            n -= chunk

    async def _fill(self, n: int) -> None:
        while self._end - self._start < n:
            self._check_open()
            self._want = n
            self._resume()
            try:
                await self._wait()
            finally:
                self._want = 0

    async def _wait(self) -> None:
        assert self._loop is not None
        if self._pending:
            self._flush()  # what the reader queued goes out before it sleeps
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self._closed is None:
            self._closed = exc
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _check_open(self) -> None:
        if self._closed is not None:
            raise StreamClosed(str(self._closed))

    def _consumed(self) -> None:
        if self._paused and len(self._buf) - (self._end - self._start) >= 2 * _LOW_FREE:
            self._resume()

    def _resume(self) -> None:
        if self._paused and self.transport is not None and not self.transport.is_closing():
            self._paused = False
            self.transport.resume_reading()

    # -- writing ------------------------------------------------------------------------

    def write(self, buffers: list[bytes | bytearray | memoryview]) -> None:
        """Queue ``buffers`` for sending, in order, without joining them."""
        if self._closed is not None or self.transport is None or self.transport.is_closing():
            raise StreamClosed("connection is closed")
        self._pending += buffers
        for buf in buffers:
            self._pending_bytes += len(buf)
        if self._pending_bytes >= _FLUSH_AT:
            self._flush()
        elif not self._flush_scheduled and current_task(self._loop) is not self.task:
            assert self._loop is not None
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending:
            return
        buffers, self._pending, self._pending_bytes = self._pending, [], 0
        if self.transport is not None and not self.transport.is_closing():
            self.transport.writelines(buffers)

    @property
    def must_drain(self) -> bool:
        return not self._can_write.is_set()

    async def drain(self) -> None:
        """Send what is queued; wait until the transport is below its high-water mark.

        Any number of tasks may wait at once (each command's response does).
        """
        self._flush()
        await self._can_write.wait()
        self._check_open()

    def close(self) -> None:
        """Close after sending what is queued."""
        self._flush()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    @property
    def closed(self) -> bool:
        return self._closed is not None or self.transport is None or self.transport.is_closing()
