"""stratus.http.salvage over real sockets: a request followed, in the same packet, by bytes
that are no request is still answered (aiohttp alone answers 400 for the lot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from stratus.http import server as httpserver
from tests.helpers.net import free_port

HOST = "127.0.0.1"


def _app() -> web.Application:
    async def upload(request: web.Request) -> web.Response:
        if request.content_length is None:
            return web.Response(status=411, text="length required")
        body = await request.read()
        return web.Response(text=f"got {len(body)}")

    app = web.Application()
    app.router.add_put("/upload", upload)
    return app


@pytest.fixture
async def port() -> AsyncIterator[int]:
    p = free_port()
    runner = await httpserver.start(_app(), httpserver.listen(HOST, p), httpserver.ServerLimits())
    yield p
    await runner.cleanup()


async def _first_status(port: int, packet: bytes) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(packet)  # one write: the request and the stray bytes in one read
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        return head.split(b"\r\n")[0], await reader.readexactly(length)
    finally:
        writer.close()


@pytest.mark.parametrize(
    "packet,want",
    [
        # A body without Content-Length: the request has none; the body is no request.
        (b"PUT /upload HTTP/1.1\r\nHost: x\r\n\r\n\x81\xff\xa1 binary", (411, b"length required")),
        # More body than Content-Length said: the framed part is the request's.
        (
            b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello0123456789",
            (200, b"got 5"),
        ),
    ],
)
async def test_a_request_before_stray_bytes_is_answered(
    port: int, packet: bytes, want: tuple[int, bytes]
) -> None:
    status_line, body = await _first_status(port, packet)
    assert (int(status_line.split()[1]), body) == want
