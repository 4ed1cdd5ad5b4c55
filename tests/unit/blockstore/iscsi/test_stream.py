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
