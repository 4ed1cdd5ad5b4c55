"""Raw-socket clients that misbehave on purpose: slowloris and connection floods.

Each helper speaks HTTP/1.1 by hand over ``asyncio.open_connection`` so
nothing in a client library can time out or retry for the server.
"""

from __future__ import annotations

import asyncio
import time


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[bool, bytes, float]:
    """(whether the server closed the connection within ``seconds``, what it sent, when)."""
    start = time.monotonic()
    got = b""
    try:
        async with asyncio.timeout(seconds):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return True, got, time.monotonic() - start
                got += chunk
    except TimeoutError:
        return False, got, time.monotonic() - start
    except ConnectionError:
        return True, got, time.monotonic() - start


async def half_header(host: str, port: int, wait: float) -> tuple[bool, float]:
    """Send half a request header, then nothing: (closed within ``wait``, after how long)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()
        closed, _got, after = await closed_within(reader, wait)
        return closed, after
    finally:
        writer.close()


async def idle_connections(host: str, port: int, count: int) -> list[asyncio.StreamWriter]:
    """``count`` open connections that send nothing (close them with ``writer.close()``)."""
    writers = []
    for _ in range(count):
        _reader, writer = await asyncio.open_connection(host, port)
        writers.append(writer)
    return writers


async def refused(host: str, port: int, wait: float = 5.0) -> bytes | None:
    """What the server answers a new connection that sends nothing, if it closes it at once."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        closed, got, _after = await closed_within(reader, wait)
        return got if closed else None
    finally:
        writer.close()


async def get(host: str, port: int, path: str, headers: str = "") -> bytes:
    """A plain GET on a fresh connection (``Connection: close``): the whole answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()
