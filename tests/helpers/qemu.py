"""QEMU test VMs: start the tiny guest, talk QMP, wait for serial markers.

Every wait is bounded (``MAX_WAIT`` at most) and ``run_vm`` always kills
QEMU on the way out, so a failing test never leaves a VM behind. The guest is
``compute_glue.guest_image``'s busybox initramfs; it runs the shell script
given to ``run_vm`` and powers off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compute_glue.guest_image import (
    MARK_CMD_EXIT,
    MARK_POWEROFF,
    MARK_READY,
    GuestImage,
    GuestImageError,
    build_test_guest,
    kernel_cmdline,
)
from tests.helpers.tools import missing_tool, need_tool

QEMU = "qemu-system-x86_64"
MAX_WAIT = 120.0  # no single wait in a VM test may exceed this
BOOT_WAIT = 90.0  # TCG on two busy cores: /init is reached in 4-11 s, allow much more


def guest_image(cache_dir: Path) -> GuestImage:
    """The test guest (built once per cache dir), or skip/fail when the host lacks parts."""
    need_tool(QEMU, "qemu-system-x86")
    try:
        return build_test_guest(cache_dir)
    except GuestImageError as exc:
        missing_tool(str(exc))
        raise  # not reached: missing_tool skips or fails


def qemu_argv(
    image: GuestImage,
    *,
    serial: Path,
    qmp: Path | None,
    script: str | None,
    args: Sequence[str] = (),
    memory: str = "256M",
) -> list[str]:
    """The command line of a TCG guest with a file serial console and a QMP socket."""
    argv = [
        QEMU,
        "-machine", "pc,accel=tcg",
        "-m", memory,
        "-smp", "1",
        "-nographic",
        "-nodefaults",
        "-no-user-config",
        "-no-reboot",
        "-serial", f"file:{serial}",
        "-kernel", str(image.kernel),
        "-initrd", str(image.initramfs),
        "-append", kernel_cmdline(script),
    ]  # fmt: skip
    if qmp is not None:
        argv += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    return [*argv, *args]


class QmpError(Exception):
    """QMP answered a command with an error."""

    def __init__(self, command: str, error: dict[str, Any]) -> None:
        self.error_class = error.get("class", "")
        self.desc = error.get("desc", "")
        super().__init__(f"{command}: {self.error_class}: {self.desc}")


class QmpClient:
    """A minimal QMP client: one reader task routes replies by id and keeps events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._new_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed_error: BaseException | None = None

    @classmethod
    async def connect(cls, path: Path, proc: asyncio.subprocess.Process) -> QmpClient:
        """Connect once QEMU has created the socket, then negotiate capabilities."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"QEMU exited with status {proc.returncode} before QMP")
            try:
                reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 20)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)
        client = cls(reader, writer)
        greeting = json.loads(await asyncio.wait_for(reader.readline(), 30.0))
        assert "QMP" in greeting, greeting
        client._task = asyncio.create_task(client._read_loop())
        await client.execute("qmp_capabilities")
        return client

    async def _read_loop(self) -> None:
        try:
            while line := await self._reader.readline():
                msg = json.loads(line)
                if "event" in msg:
                    self.events.append(msg)
                    self._new_event.set()
                elif (fut := self._pending.pop(str(msg.get("id")), None)) and not fut.done():
                    fut.set_result(msg)
            self._closed_error = ConnectionError("QMP connection closed")
        except Exception as exc:  # the reader's failure is every waiter's failure
            self._closed_error = exc
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(self._closed_error)
        self._new_event.set()

    async def execute(
        self, command: str, arguments: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> Any:
        """Run one command and return its ``return`` value; raise QmpError on error."""
        if self._closed_error is not None:
            raise self._closed_error
        ident = str(next(self._ids))
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = fut
        msg: dict[str, Any] = {"execute": command, "id": ident}
        if arguments:
            msg["arguments"] = arguments
        self._writer.write(json.dumps(msg).encode() + b"\n")
        await self._writer.drain()
        reply = await asyncio.wait_for(fut, min(timeout, MAX_WAIT))
        if "error" in reply:
            raise QmpError(command, reply["error"])
        return reply.get("return")

    async def wait_event(
        self, name: str, *, data: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Wait for (and consume) the first event ``name`` whose data contains ``data``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, MAX_WAIT)
        while True:
            for i, ev in enumerate(self.events):
                got = ev.get("data", {})
                if ev["event"] == name and all(got.get(k) == v for k, v in (data or {}).items()):
                    return self.events.pop(i)
            if self._closed_error is not None:
                raise self._closed_error
            self._new_event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no QMP event {name} {data or ''} within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_event.wait(), remaining)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


@dataclass
class Vm:
    """A running test VM: its process, QMP client and serial console log."""

    proc: asyncio.subprocess.Process
    serial: Path
    stderr: Path
    qmp: QmpClient | None = None
    _seen: int = field(default=0, repr=False)

    def console(self) -> str:
        return self.serial.read_text(errors="replace") if self.serial.exists() else ""

    def diagnostics(self) -> str:
        err = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        return f"--- serial console (tail) ---\n{self.console()[-3000:]}\n--- stderr ---\n{err}"

    async def wait_for(self, marker: str, timeout: float = 60.0) -> str:
        """Wait for the next console line containing ``marker`` (after the last one found).

        Returns that line; fails with the console tail if QEMU exits or time runs out.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, MAX_WAIT)
        while True:
            text = self.console()
            at = text.find(marker, self._seen)
            if at >= 0 and (end := text.find("\n", at)) >= 0:
                start = text.rfind("\n", 0, at) + 1
                self._seen = end + 1
                return text[start:end].rstrip("\r")
            if self.proc.returncode is not None:
                raise AssertionError(
                    f"QEMU exited ({self.proc.returncode}) before {marker!r}\n{self.diagnostics()}"
                )
            if loop.time() > deadline:
                raise AssertionError(f"no {marker!r} within {timeout} s\n{self.diagnostics()}")
            await asyncio.sleep(0.05)

    async def wait_ready(self, timeout: float = BOOT_WAIT) -> None:
        await self.wait_for(MARK_READY, timeout)

    async def wait_command_exit(self, timeout: float = 60.0) -> int:
        """Wait for the guest script to end; return its exit status."""
        line = await self.wait_for(MARK_CMD_EXIT, timeout)
        return int(line.rsplit(" ", 1)[1])

    async def wait_poweroff(self, timeout: float = 30.0) -> int:
        """Wait for the guest to power off and QEMU to exit; return QEMU's status."""
        await self.wait_for(MARK_POWEROFF, timeout)
        return await asyncio.wait_for(self.proc.wait(), min(timeout, MAX_WAIT))

    async def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for QEMU to exit by itself; return its status."""
        try:
            return await asyncio.wait_for(self.proc.wait(), min(timeout, MAX_WAIT))
        except TimeoutError:
            raise AssertionError(
                f"QEMU still runs after {timeout} s\n{self.diagnostics()}"
            ) from None

    async def kill(self) -> None:
        if self.qmp is not None:
            await self.qmp.close()
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 10.0)


@contextlib.asynccontextmanager
async def run_vm(
    image: GuestImage,
    workdir: Path,
    *,
    script: str | None,
    args: Sequence[str] = (),
    memory: str = "256M",
    name: str = "vm",
    connect_qmp: bool = True,
) -> AsyncIterator[Vm]:
    """Start a VM running ``script`` with extra QEMU ``args``; kill it on exit, always.

    ``connect_qmp=False`` is for a QEMU expected to fail at start-up.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    serial, stderr = workdir / f"{name}.serial", workdir / f"{name}.stderr"
    serial.unlink(missing_ok=True)
    # AF_UNIX paths are limited to 108 bytes; pytest's tmp_path can be longer.
    sockdir = Path(tempfile.mkdtemp(prefix="stratus-qmp-"))
    qmp_sock = sockdir / "qmp"
    argv = qemu_argv(image, serial=serial, qmp=qmp_sock, script=script, args=args, memory=memory)
    with stderr.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=err, stderr=err
        )
    vm = Vm(proc=proc, serial=serial, stderr=stderr)
    try:
        try:
            if connect_qmp:
                vm.qmp = await QmpClient.connect(qmp_sock, proc)
        except Exception as exc:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10.0)
            raise AssertionError(f"QEMU did not start: {exc}\n{vm.diagnostics()}") from exc
        yield vm
    finally:
        await vm.kill()
        shutil.rmtree(sockdir, ignore_errors=True)
