"""Child processes of `stratus up`: start them, wait until each is ready, stop them cleanly.

The launcher must never leave orphans behind. So every child:

- asks the kernel (``prctl(PR_SET_PDEATHSIG, SIGTERM)``) to be sent SIGTERM
  when the launcher dies, however it dies (even ``kill -9``);
- runs in its own process group, so a terminal's Ctrl-C reaches only the
  launcher, which then stops the children in order (proxy first, then nodes);
- is stopped with SIGTERM to its whole group, waited for, and SIGKILLed after
  a grace period.

A child that dies while the cluster runs is restarted with a growing delay;
one that keeps dying makes the supervisor give up and stop everything, rather
than hide a crash loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

Probe = Callable[[], Awaitable[bool]]


class ChildFailed(Exception):
    """A child exited or never became ready; the message says which and why."""


@dataclass
class ChildSpec:
    """What to run, how to tell it is ready, and where its output goes."""

    name: str
    argv: list[str]
    ready: Probe
    env: dict[str, str] | None = None
    log_path: Path | None = None


def _child_setup(parent_pid: int) -> Callable[[], None]:
    """The function run in the forked child just before exec."""

    def setup() -> None:
        os.setpgid(0, 0)
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The launcher may have died between fork and prctl: then nobody
        # would ever signal us, so leave now.
        if os.getppid() != parent_pid:
            os._exit(1)

    return setup


@dataclass
class Child:
    """One supervised process."""

    spec: ChildSpec
    proc: asyncio.subprocess.Process | None = None
    restarts: list[float] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        out: int | object = asyncio.subprocess.DEVNULL
        log = None
        if self.spec.log_path is not None:
            self.spec.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            log = open(self.spec.log_path, "ab")  # noqa: SIM115 - handed to the child
            out = log
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=self.spec.env,
                preexec_fn=_child_setup(os.getpid()),
            )
        finally:
            if log is not None:
                log.close()

    async def wait_ready(self, timeout: float) -> None:
        """Poll the readiness probe until it passes; fail fast if the child exits."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if not self.running:
                raise ChildFailed(
                    f"{self.spec.name} exited with status {self.returncode}{self._log_hint()}"
                )
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                if await asyncio.wait_for(self.spec.ready(), timeout=2.0):
                    return
            if time.monotonic() >= deadline:
                raise ChildFailed(
                    f"{self.spec.name} not ready after {timeout:.0f}s{self._log_hint()}"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    async def stop(self, grace: float) -> int | None:
        """SIGTERM the child's process group, wait up to ``grace``, then SIGKILL it."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=grace)
            except TimeoutError:
                _signal_group(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
        # Anything the child forked and left behind in its group goes too.
        _signal_group(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode

    def _log_hint(self) -> str:
        if self.spec.log_path is None:
            return ""
        return f"; see {self.spec.log_path}:\n{tail(self.spec.log_path)}"


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, to show why a child failed."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


class Supervisor:
    """Starts a set of children, keeps them running, and stops them in reverse order."""

    def __init__(
        self,
        *,
        grace: float = 10.0,
        ready_timeout: float = 30.0,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.batches: list[list[Child]] = []
        self.grace = grace
        self.ready_timeout = ready_timeout
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self._log = log

    async def start(self, specs: Sequence[ChildSpec], *, wait: bool = True) -> list[Child]:
        """Start ``specs`` as one batch; with ``wait``, until all are ready (or stop them all).

        Batches stop in reverse order, so start what others depend on first.
        """
        new = [Child(spec) for spec in specs]
        self.batches.append(new)
        try:
            for child in new:
                await child.start()
            if wait:
                await self.wait_ready(new)
        except BaseException:
            await self.stop()
            raise
        return new

    async def wait_ready(self, children: Sequence[Child] | None = None) -> None:
        """Wait for every child's readiness probe at once."""
        todo = self.children if children is None else children
        await asyncio.gather(*(c.wait_ready(self.ready_timeout) for c in todo))

    async def stop(self) -> None:
        """Stop every child, the last batch started first: proxies go before their nodes."""
        while self.batches:
            batch = self.batches.pop()
            await asyncio.gather(*(c.stop(self.grace) for c in batch))

    @property
    def children(self) -> list[Child]:
        return [c for batch in self.batches for c in batch]

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the children alive until ``stop`` is set; raise ChildFailed on a crash loop."""
        while not stop.is_set():
            waits = {asyncio.ensure_future(c.proc.wait()): c for c in self.children if c.proc}
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait([stopper, *waits], return_when=asyncio.FIRST_COMPLETED)
            for fut in [stopper, *waits]:
                if fut not in done:
                    fut.cancel()
            if stop.is_set():
                return
            for fut in done:
                if fut in waits:
                    await self._restart(waits[fut], stop)

    async def _restart(self, child: Child, stop: asyncio.Event) -> None:
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < self.restart_window]
        if len(child.restarts) >= self.max_restarts:
            raise ChildFailed(
                f"{child.spec.name} died {len(child.restarts) + 1} times in "
                f"{self.restart_window:.0f}s (last status {child.returncode}); giving up"
                f"{child._log_hint()}"
            )
        child.restarts.append(now)
        delay = min(0.5 * 2 ** (len(child.restarts) - 1), 10.0)
        self._log(
            f"{child.spec.name} exited with status {child.returncode}; restarting in {delay:.1f}s"
        )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            return
        await child.start()
        try:
            await child.wait_ready(self.ready_timeout)
        except ChildFailed as exc:
            self._log(str(exc))
        else:
            self._log(f"{child.spec.name} is back (pid {child.pid})")


async def http_probe(host: str, port: int, path: str = "/", ok: Sequence[int] = (200,)) -> bool:
    """True when ``GET path`` on host:port answers with one of the ``ok`` statuses."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = status_line.split()
    return len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) in ok


async def tcp_probe(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
