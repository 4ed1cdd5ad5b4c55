"""Loopback ports for servers started by tests.

Ports come from below the kernel's ephemeral range: a port the kernel hands
out with ``bind(0)`` can be taken by any outgoing connection between the
moment a test picks it and the moment its server (often another process)
binds it, and the suite makes thousands of outgoing connections. Under
pytest-xdist each worker takes its own slice of that range, so two workers
never pick the same port before either has bound it.
"""

from __future__ import annotations

import random
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from tests.helpers import parallel

_LOW, _HIGH = 20000, 32000  # below Linux's default ip_local_port_range (32768-60999)


def _ephemeral_floor() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _span() -> tuple[int, int]:
    """This process's ports: its xdist worker's slice of the range below the ephemeral one."""
    low, high = _LOW, min(_HIGH, _ephemeral_floor())
    index, count = parallel.worker()
    size = (high - low) // count
    return low + index * size, low + (index + 1) * size


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, outside the range outgoing connections use."""
    low, high = _span()
    for _ in range(200):
        port = random.randrange(low, high)
        if _bindable(host, port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # crowded: let the kernel pick
        s.bind((host, 0))
        return s.getsockname()[1]


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive free ports."""
    low, high = _span()
    for _ in range(200):
        base = random.randrange(low, high - count)
        if all(_bindable(host, p) for p in range(base, base + count)):
            return base
    raise RuntimeError(f"no block of {count} free ports")


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port for the block; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def self_signed_cert(where: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key (PEM files in ``where``), by openssl."""
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
