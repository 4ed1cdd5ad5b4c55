"""Serving an aiohttp app with limits a slow or greedy client cannot get round.

Every Stratus HTTP service binds with :func:`listen` (so a taken port fails
start-up at once, before records are opened) and starts through
:func:`start` or :func:`serving`, which add three
limits to what aiohttp does by itself (``[http]`` in the configuration):

- **header timeout**: a connection must deliver a request's headers within
  ``header_timeout`` seconds of opening (or of the previous response), else
  it is closed. aiohttp's keep-alive timer does exactly this, also for a
  connection that trickles half a header, so it is set to that value.
- **body timeout**: while a handler runs and its request body is still
  incomplete, the connection is closed when no body byte arrives for
  ``body_timeout`` seconds. Time the server itself stalls (reading paused
  because the handler has not consumed what came) does not count.
- **connection cap**: at most ``max_connections`` connections per listening
  socket; one more is answered ``503`` and closed at once, so a crowd of
  idle sockets cannot take all file descriptors from the clients that work.

TLS handshakes get ``header_timeout`` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Handler

from stratus.config import Config
from stratus.http.salvage import salvaging

log = logging.getLogger("stratus.http.server")

_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\nToo many open connections"
)
_LOG_EVERY = 60.0  # seconds between two warnings about refused connections


@dataclass(frozen=True)
class ServerLimits:
    """What every HTTP server allows one connection (see the module docstring)."""

    header_timeout: float = 60.0
    body_timeout: float = 60.0
    max_connections: int = 1024

    @classmethod
    def from_config(cls, cfg: Config) -> ServerLimits:
        """The ``[http]`` section of a :class:`stratus.config.Config`."""
        return cls(cfg.http.header_timeout, cfg.http.body_timeout, cfg.http.max_connections)


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A bound, listening, non-blocking socket (SO_REUSEADDR), so bind errors come first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def start(
    app: web.Application,
    sock: socket.socket,
    limits: ServerLimits,
    *,
    ssl_context: ssl.SSLContext | None = None,
    **runner_kwargs: Any,
) -> web.AppRunner:
    """Serve ``app`` on ``sock`` under ``limits``; stop it with ``await runner.cleanup()``.

    ``runner_kwargs`` go to :class:`aiohttp.web.AppRunner` (access log,
    shutdown timeout, read buffer size).
    """
    app.middlewares.insert(0, _body_timeout(limits.body_timeout))
    runner_kwargs.setdefault("handle_signals", False)
    runner = web.AppRunner(app, keepalive_timeout=limits.header_timeout, **runner_kwargs)
    await runner.setup()
    try:
        await LimitedSite(runner, sock, limits, ssl_context=ssl_context).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


@contextlib.asynccontextmanager
async def serving(
    app: web.Application,
    sock: socket.socket,
    limits: ServerLimits | None = None,
    **runner_kwargs: Any,
) -> AsyncIterator[int]:
    """Serve ``app`` on ``sock`` (under ``limits``) until the block ends; yields the bound port.

    Leaving the block stops accepting, lets in-flight requests finish (up to
    ``shutdown_timeout``, 5 s unless given) and runs the app's cleanup.
    """
    runner_kwargs.setdefault("access_log", None)
    runner_kwargs.setdefault("shutdown_timeout", 5)
    runner = await start(app, sock, limits or ServerLimits(), **runner_kwargs)
    try:
        yield sock.getsockname()[1]
    finally:
        await runner.cleanup()


def loopback(host: str) -> str:
    """Where to reach a server bound to ``host`` (a wildcard bind answers on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def base_url(host: str, port: int, scheme: str = "http") -> str:
    """``scheme://host:port`` of a server bound to ``host`` (IPv6 in brackets)."""
    host = loopback(host)
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


class LimitedSite(web.SockSite):
    """A :class:`aiohttp.web.SockSite` that caps its open connections."""

    __slots__ = ("_limits", "_logged", "_open", "_refused")

    def __init__(
        self,
        runner: web.BaseRunner,
        sock: socket.socket,
        limits: ServerLimits,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, sock, ssl_context=ssl_context, backlog=1024)
        self._limits = limits
        self._open = 0
        self._refused = 0
        self._logged = 0.0

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        handshake = self._limits.header_timeout if self._ssl_context else None  # None: no TLS
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Counted(self, salvaging(server())),  # see stratus.http.salvage
            sock=self._sock,
            ssl=self._ssl_context,
            backlog=self._backlog,
            ssl_handshake_timeout=handshake,
        )

    def _admit(self) -> bool:
        if self._open < self._limits.max_connections:
            self._open += 1
            return True
        self._refused += 1
        now = time.monotonic()
        if now - self._logged >= _LOG_EVERY:
            self._logged = now
            log.warning(
                "%s: %d connections open (the limit): refused %d so far",
                self.name,
                self._open,
                self._refused,
            )
        return False

    def _release(self) -> None:
        self._open -= 1


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, counted against its site's cap."""

    __slots__ = ("_admitted", "_inner", "_site")

    def __init__(self, site: LimitedSite, inner: asyncio.Protocol) -> None:
        self._site = site
        self._inner = inner
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._site._admit():
            writer = cast(asyncio.WriteTransport, transport)  # uvloop's are not subclasses
            writer.write(_REFUSAL)
            writer.close()
            return
        self._admitted = True
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._admitted:
            self._admitted = False
            self._site._release()
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()


def _body_timeout(timeout: float) -> Any:
    """Middleware: close the connection when a request body stops arriving for ``timeout`` s."""

    @web.middleware
    async def body_timeout(request: web.Request, handler: Handler) -> web.StreamResponse:
        content, transport = request.content, request.transport
        if content.is_eof() or transport is None:
            return await handler(request)
        watch = _BodyWatch(content, transport, timeout)
        try:
            return await handler(request)
        except Exception:
            if watch.fired:  # the connection is closed: end quietly, not as a handler error
                raise web.HTTPRequestTimeout() from None
            raise
        finally:
            watch.cancel()

    return body_timeout


class _BodyWatch:
    """Checks a few times per ``timeout`` that an unfinished body still makes progress."""

    def __init__(self, content: Any, transport: asyncio.BaseTransport, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._content = content
        self._transport = transport
        self._timeout = timeout
        self.fired = False
        self._seen = content.total_bytes
        self._since = self._loop.time()
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(timeout / 4, self._tick)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        self._handle = None
        transport = self._transport
        if self._content.is_eof() or transport.is_closing():
            return
        now = self._loop.time()
        reading = cast(asyncio.ReadTransport, transport).is_reading()  # False: paused by us
        if self._content.total_bytes != self._seen or not reading:
            self._seen, self._since = self._content.total_bytes, now
        elif now - self._since >= self._timeout:
            peer = transport.get_extra_info("peername")
            log.info("closing connection from %s: no request body for %g s", peer, self._timeout)
            self.fired = True
            transport.close()
            return
        self._handle = self._loop.call_later(self._timeout / 4, self._tick)
