from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stratus.cli.supervisor import ChildFailed, ChildSpec, Supervisor, http_probe, tcp_probe
from tests.helpers.net import free_port

HTTP_CHILD = textwrap.dedent(
    """
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *a): pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


def _http_child(name: str, port: int, log: Path | None = None) -> ChildSpec:
    return ChildSpec(
        name=name,
        argv=[sys.executable, "-c", HTTP_CHILD, str(port)],
        ready=lambda: http_probe("127.0.0.1", port, "/"),
        log_path=log,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_start_ready_and_stop(tmp_path: Path) -> None:
    sup = Supervisor(grace=5)
    port = free_port()
    (child,) = await sup.start([_http_child("web", port)])
    assert child.running
    assert await http_probe("127.0.0.1", port, "/")
    await sup.stop()
    assert not child.running
    assert child.returncode == -signal.SIGTERM
    with pytest.raises(OSError):
        await tcp_probe("127.0.0.1", port)


async def test_child_that_exits_fails_start_with_its_log(tmp_path: Path) -> None:
    sup = Supervisor(grace=1)
    spec = ChildSpec(
        name="broken",
        argv=[sys.executable, "-c", "import sys; print('bad config here'); sys.exit(3)"],
        ready=lambda: tcp_probe("127.0.0.1", free_port()),
        log_path=tmp_path / "broken.log",
    )
    with pytest.raises(ChildFailed) as exc:
        await sup.start([spec])
    assert "status 3" in str(exc.value)
    assert "bad config here" in str(exc.value)
    assert sup.children == []


async def test_sigterm_ignored_means_sigkill_after_grace() -> None:
    sup = Supervisor(grace=0.3)
    port = free_port()
    stubborn = (
        "import signal, socket, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
        "time.sleep(60)\n"
    )
    spec = ChildSpec(
        name="stubborn",
        argv=[sys.executable, "-c", stubborn, str(port)],
        ready=lambda: tcp_probe("127.0.0.1", port),
    )
    (child,) = await sup.start([spec])
    await sup.stop()
    assert child.returncode == -signal.SIGKILL


async def test_crashed_child_is_restarted() -> None:
    sup = Supervisor(grace=2, max_restarts=3)
    port = free_port()
    (child,) = await sup.start([_http_child("web", port)])
    first = child.pid
    stop = asyncio.Event()
    runner = asyncio.create_task(sup.run(stop))
    os.kill(first, signal.SIGKILL)
    for _ in range(200):
        if child.pid != first and child.running:
            break
        await asyncio.sleep(0.05)
    assert child.pid != first
    for _ in range(100):
        try:
            if await http_probe("127.0.0.1", port, "/"):
                break
        except OSError:
            await asyncio.sleep(0.05)
    assert await http_probe("127.0.0.1", port, "/")
    stop.set()
    await runner
    await sup.stop()


async def test_crash_loop_gives_up() -> None:
    sup = Supervisor(grace=1, max_restarts=1, ready_timeout=5)
    port = free_port()
    (child,) = await sup.start([_http_child("web", port)])
    stop = asyncio.Event()
    runner = asyncio.create_task(sup.run(stop))
    for _ in range(2):
        pid = child.pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(200):
            if child.pid != pid or runner.done():
                break
            await asyncio.sleep(0.05)
    with pytest.raises(ChildFailed, match="giving up"):
        await asyncio.wait_for(runner, timeout=10)
    await sup.stop()


LAUNCHER = textwrap.dedent(
    """
    import asyncio, sys
    from stratus.cli.supervisor import ChildSpec, Supervisor, tcp_probe
    port = int(sys.argv[1])
    code = ("import socket,time; s=socket.socket(); s.bind(('127.0.0.1', %d)); "
            "s.listen(); time.sleep(120)" % port)
    async def main():
        sup = Supervisor()
        (c,) = await sup.start([ChildSpec("sleeper", [sys.executable, "-c", code],
                                          lambda: tcp_probe("127.0.0.1", port))])
        print(c.pid, flush=True)
        await asyncio.sleep(120)
    asyncio.run(main())
    """
)


def test_children_die_with_a_killed_launcher() -> None:
    """kill -9 of the supervisor must not leave an orphan (PR_SET_PDEATHSIG)."""
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(free_port())],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[4],
    )
    try:
        assert launcher.stdout is not None
        child_pid = int(launcher.stdout.readline())
        assert _alive(child_pid)
        launcher.kill()
        launcher.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid)
    finally:
        launcher.kill()
        launcher.wait()
