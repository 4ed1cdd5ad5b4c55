"""stratus.runner: a service process stops gracefully on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from stratus import runner

ROOT = Path(__file__).resolve().parents[3]

# A service as the commands run one: an HTTP app served until stopped, then cleaned up.
SERVICE = textwrap.dedent(
    """
    import asyncio, sys
    from aiohttp import web
    from stratus import runner
    from stratus.http.server import listen, serving

    async def main(stop):
        app = web.Application()
        app.router.add_get("/", lambda request: web.Response(text="up"))
        app.on_cleanup.append(lambda app: asyncio.sleep(0, print("app cleaned up", flush=True)))
        async with serving(app, listen("127.0.0.1", 0)) as port:
            loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
            print(f"port {port} loop {loop}", flush=True)
            await stop.wait()
            print("stopping", flush=True)
        return 7

    result = runner.run(main, uvloop=sys.argv[1] == "uvloop")
    print(f"result {result}", flush=True)
    """
)


def _start(loop: str) -> tuple[subprocess.Popen[str], int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVICE, loop],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    _, port, _, kind = proc.stdout.readline().split()
    return proc, int(port), kind


@pytest.mark.parametrize(
    "sig,loop", [(signal.SIGTERM, "uvloop"), (signal.SIGINT, "uvloop"), (signal.SIGTERM, "stdlib")]
)
def test_a_signal_stops_the_service_gracefully(sig: signal.Signals, loop: str) -> None:
    proc, port, kind = _start(loop)
    try:
        assert kind == ("uvloop" if loop == "uvloop" else "asyncio")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.read() == b"up"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0
    assert out.splitlines() == ["stopping", "app cleaned up", "result 7"]


def test_the_loop_runner_falls_back_to_the_stdlib_loop_when_asked() -> None:
    assert runner.loop_runner(uvloop=False) is asyncio.run
    assert runner.loop_runner(uvloop=True) is not asyncio.run  # uvloop is a dependency
