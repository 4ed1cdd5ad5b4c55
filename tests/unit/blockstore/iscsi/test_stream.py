"""PduStream over a real socket pair: exact reads, direct reads, EOF, and drain."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from blockstore.iscsi.stream import PduStream, StreamClosed


async def pair() -> tuple[PduStream, socket.socket]:
    """A PduStream on one end of a socket pair; the other end is a plain socket."""
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    started = asyncio.Event()

    async def handler(stream: PduStream) -> None:
        started.set()

    loop = asyncio.get_running_loop()
    _, stream = await loop.connect_accepted_socket(lambda: PduStream(handler), ours)
    await started.wait()
    return stream, theirs


async def test_exact_reads_across_chunks_and_direct_reads() -> None:
    stream, peer = await pair()
    loop = asyncio.get_running_loop()
    payload = os.urandom(300 * 1024)
    reader = asyncio.ensure_future(stream.read_exactly(48))
    await loop.sock_sendall(peer, payload[:20])
    await asyncio.sleep(0.01)
    assert not reader.done()
    await loop.sock_sendall(peer, payload[20:100])
    assert await reader == payload[:48]
    into = bytearray(250 * 1024)  # large: received straight into the caller's buffer
    task = asyncio.ensure_future(stream.read_into(memoryview(into)))
    await loop.sock_sendall(peer, payload[100:])
    await task
    assert bytes(into) == payload[48 : 48 + len(into)]
    rest = len(payload) - 48 - len(into)
    assert await stream.read_exactly(rest) == payload[-rest:]
    peer.close()


async def test_eof_fails_a_waiting_reader_but_not_buffered_data() -> None:
    stream, peer = await pair()
    await asyncio.get_running_loop().sock_sendall(peer, b"abc")
    peer.close()
    assert await stream.read_exactly(3) == b"abc"
    with pytest.raises(StreamClosed):
        await stream.read_exactly(1)
    with pytest.raises(StreamClosed):
        stream.write([b"x"])


async def test_skip_discards_exactly() -> None:
    stream, peer = await pair()
    await asyncio.get_running_loop().sock_sendall(peer, bytes(5000) + b"next")
    await stream.skip(5000)
    assert await stream.read_exactly(4) == b"next"
    peer.close()


async def test_every_drainer_wakes_when_writing_resumes() -> None:
    stream, peer = await pair()
    stream.pause_writing()  # what the loop calls above the high-water mark
    assert stream.must_drain
    waiters = [asyncio.ensure_future(stream.drain()) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters)
    stream.resume_writing()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    stream.pause_writing()
    blocked = asyncio.ensure_future(stream.drain())
    peer.close()
    stream.close()
    with pytest.raises(StreamClosed):
        await asyncio.wait_for(blocked, 5)  # a closed connection releases drainers too


async def test_the_readers_own_writes_leave_when_it_waits_for_input() -> None:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    loop = asyncio.get_running_loop()
    scheduled: list[object] = []

    async def handler(stream: PduStream) -> None:
        # Echo each 4-byte request, from the reading task itself (as eager commands do).
        real_call_soon = loop.call_soon

        def spy(callback, *args, **kwargs):  # type: ignore[no-untyped-def]
            if getattr(callback, "__name__", "") == "_flush":
                scheduled.append(callback)
            return real_call_soon(callback, *args, **kwargs)

        loop.call_soon = spy  # type: ignore[method-assign]
        try:
            for _ in range(3):
                request = await stream.read_exactly(4)
                stream.write([b"re:", request])
        finally:
            loop.call_soon = real_call_soon  # type: ignore[method-assign]

    _, stream = await loop.connect_accepted_socket(lambda: PduStream(handler), ours)
    await loop.sock_sendall(theirs, b"one!two!")  # two requests in one segment
    got = b""
    while len(got) < 14:
        got += await asyncio.wait_for(loop.sock_recv(theirs, 100), 5)
    assert got == b"re:one!re:two!"  # answered as soon as the reader ran out of input
    await loop.sock_sendall(theirs, b"end!")
    await asyncio.wait_for(stream.task, 5)  # type: ignore[arg-type]
    stream.close()  # the last answer, queued by a reader that no longer reads, leaves on close
    got = b""
    while len(got) < 7:
        got += await asyncio.wait_for(loop.sock_recv(theirs, 100), 5)
    assert got == b"re:end!"
    assert scheduled == [], "the reader's writes need no scheduled flush"
    theirs.close()


async def test_writes_from_other_tasks_are_flushed_on_the_next_loop_turn() -> None:
    stream, peer = await pair()
    loop = asyncio.get_running_loop()

    async def elsewhere() -> None:
        stream.write([b"from another task"])

    await asyncio.create_task(elsewhere())
    got = await asyncio.wait_for(loop.sock_recv(peer, 100), 5)
    assert got == b"from another task"
    peer.close()
