"""stratus.http.server: header and body timeouts and the connection cap, over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from stratus.http import server as httpserver
from stratus.http.server import ServerLimits
from tests.helpers import slowclient
from tests.helpers.net import free_port

HOST = "127.0.0.1"
LIMITS = ServerLimits(header_timeout=0.5, body_timeout=0.5, max_connections=3)

Serve = Callable[[ServerLimits], Awaitable[int]]


def _app() -> web.Application:
    async def healthcheck(request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def upload(request: web.Request) -> web.Response:
        delay = float(request.query.get("delay", "0"))
        await asyncio.sleep(delay)  # the server's own stall must not count against the client
        body = await request.read()
        return web.Response(text=str(len(body)))

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get("/healthcheck", healthcheck)
    app.router.add_put("/upload", upload)
    return app


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(limits: ServerLimits) -> int:
        port = free_port()
        runners.append(await httpserver.start(_app(), httpserver.listen(HOST, port), limits))
        return port

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_half_a_header_is_cut_off_after_the_header_timeout(serve: Serve) -> None:
    port = await serve(LIMITS)
    closed, after = await slowclient.half_header(HOST, port, wait=5.0)
    assert closed and 0.3 <= after < 3.0


async def test_a_stalled_body_is_cut_off_after_the_body_timeout(serve: Serve) -> None:
    port = await serve(LIMITS)
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        await writer.drain()
        closed, got, after = await slowclient.closed_within(reader, 5.0)
        assert closed and got == b"" and after < 3.0
    finally:
        writer.close()


async def test_a_slow_steady_body_and_a_slow_server_are_not_cut_off(serve: Serve) -> None:
    port = await serve(LIMITS)
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        for _ in range(10):  # 2 s in all, a byte every 0.2 s: always within the timeout
            await asyncio.sleep(0.2)
            writer.write(b"x")
            await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    # The handler sits on an 8 MiB body for 1.5 s: reading pauses, that is not the client's fault.
    size = 8 * 1024 * 1024
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        head = f"PUT /upload?delay=1.5 HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n"
        writer.write(head.encode() + b"y" * size)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), 10)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(str(size).encode())
    finally:
        writer.close()


async def test_connections_past_the_cap_are_refused_and_service_recovers(serve: Serve) -> None:
    port = await serve(ServerLimits(header_timeout=30, body_timeout=30, max_connections=3))
    hogs = await slowclient.idle_connections(HOST, port, 3)
    try:
        await asyncio.sleep(0.1)
        for _ in range(3):
            answer = await slowclient.refused(HOST, port)
            assert answer is not None and answer.startswith(b"HTTP/1.1 503"), answer
    finally:
        for w in hogs:
            w.close()
    for _ in range(50):  # the hogs' connections are gone once the server saw them close
        answer = await slowclient.get(HOST, port, "/healthcheck")
        if answer.startswith(b"HTTP/1.1 200"):
            break
        await asyncio.sleep(0.05)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"OK")
    # as many at once as the cap allows all work
    answers = await asyncio.gather(*(slowclient.get(HOST, port, "/healthcheck") for _ in range(3)))
    assert all(a.endswith(b"OK") for a in answers)
