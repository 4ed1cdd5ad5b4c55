"""Serving an aiohttp app on a socket bound before anything else starts.

Binding first means a taken port fails start-up at once with a clear
error, before records are opened or QEMU processes adopted.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from stratus import httpserver


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(256)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def loopback(host: str) -> str:
    """Where to reach a server bound to ``host`` (a wildcard bind answers on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def base_url(host: str, port: int) -> str:
    host = loopback(host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@contextlib.asynccontextmanager
async def serving(
    app: web.Application, sock: socket.socket, limits: httpserver.ServerLimits | None = None
) -> AsyncIterator[Any]:
    """Serve ``app`` on ``sock`` (under ``limits``) until the block ends; yields the bound port."""
    runner = await httpserver.start(
        app, sock, limits or httpserver.ServerLimits(), access_log=None, shutdown_timeout=5
    )
    try:
        yield sock.getsockname()[1]
    finally:
        await runner.cleanup()
