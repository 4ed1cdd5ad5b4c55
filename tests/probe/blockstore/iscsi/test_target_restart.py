"""The target is killed under I/O and restarted; QEMU's iSCSI driver reconnects, nothing is lost.

``qemu-io`` (QEMU's libiscsi block driver, the code a VM's disk runs) writes
a pattern, then queues asynchronous writes; the target process is killed
with SIGKILL while they are in flight and started again on the same port.
Every write must complete after the reconnect, and every pattern must read
back, through the target and straight from the backing file.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.helpers.net import free_port
from tests.helpers.tools import missing_tool, need_tool

IQN = "iqn.2024-01.org.stratus.probe:restart"
SIZE = 64 * 1024 * 1024
MiB = 1024 * 1024
CHUNKS = 8  # asynchronous writes queued or in flight when the target dies
CHUNK = 4 * MiB


class Target:
    """``stratus target export`` as a process; its output is collected as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._ready = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            if "iscsi://" in line:
                self._ready.set()

    @classmethod
    async def start(cls, backing: Path, port: int) -> Target:
        stratus = Path(sys.executable).with_name("stratus")
        proc = await asyncio.create_subprocess_exec(
            str(stratus), "target", "export", str(backing), "--iqn", IQN,
            "--portal", f"127.0.0.1:{port}", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        target = cls(proc)
        async with asyncio.timeout(30):
            await asyncio.wait(
                [asyncio.ensure_future(target._ready.wait()), target._reader],
                return_when=asyncio.FIRST_COMPLETED,
            )
        assert target._ready.is_set(), "target exited before listening:\n" + "".join(target.lines)
        return target

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        await self._reader

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
        await self.proc.wait()
        await self._reader


class QemuIo:
    """An interactive qemu-io on the LUN, fed one command per line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output: list[str] = []

    @classmethod
    async def open(cls, port: int) -> QemuIo:
        opts = (
            f"driver=iscsi,transport=tcp,portal=127.0.0.1:{port},target={IQN},lun=0,"
            "initiator-name=iqn.2024-01.org.stratus.probe:qemu"
        )
        proc = await asyncio.create_subprocess_exec(
            "qemu-io", "--image-opts", opts, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        return cls(proc)

    async def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    async def expect(self, *texts: str, timeout: float = 60) -> None:
        """Read output until every one of ``texts`` has appeared (in any order)."""
        assert self.proc.stdout is not None
        waiting = set(texts)
        async with asyncio.timeout(timeout):
            while waiting:
                chunk = await self.proc.stdout.readline()
                if not chunk:
                    raise AssertionError("qemu-io exited:\n" + "".join(self.output))
                line = chunk.decode(errors="replace")
                self.output.append(line)
                if "Unknown protocol" in line or "Unknown driver" in line:
                    missing_tool("QEMU's iSCSI driver (Debian package qemu-block-extra)")
                waiting = {t for t in waiting if t not in line}

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


async def test_target_killed_under_io_comes_back_with_the_data(tmp_path: Path) -> None:
    need_tool("qemu-io", "qemu-utils")
    backing = tmp_path / "restart.img"
    with open(backing, "wb") as f:
        f.truncate(SIZE)
    port = free_port()
    target = await Target.start(backing, port)
    qemu = await QemuIo.open(port)
    try:
        await qemu.send("write -P 0x5a 0 1M")
        await qemu.expect("wrote 1048576/1048576 bytes at offset 0")
        for i in range(CHUNKS):
            await qemu.send(f"aio_write -P {0x10 + i} {(i + 1) * CHUNK} {CHUNK}")
        await target.kill()  # writes are queued or in flight: none may be lost
        target = await Target.start(backing, port)
        await qemu.send("aio_flush")
        await qemu.expect(*(f"bytes at offset {(i + 1) * CHUNK}" for i in range(CHUNKS)))
        await qemu.send("read -P 0x5a 0 1M")
        await qemu.expect("read 1048576/1048576 bytes at offset 0")
        for i in range(CHUNKS):
            await qemu.send(f"read -P {0x10 + i} {(i + 1) * CHUNK} {CHUNK}")
            await qemu.expect(f"read {CHUNK}/{CHUNK} bytes at offset {(i + 1) * CHUNK}")
        assert not any("verification failed" in line for line in qemu.output), qemu.output
        assert not any("error" in line.lower() for line in qemu.output), qemu.output
        assert any("login:" in line for line in target.lines), "QEMU never logged in again"
        await qemu.send("quit")
        await qemu.proc.wait()
        with open(backing, "rb") as f:
            assert f.read(MiB) == b"\x5a" * MiB
            for i in range(CHUNKS):
                f.seek((i + 1) * CHUNK)
                assert f.read(CHUNK) == bytes((0x10 + i,)) * CHUNK, f"write {i} lost or torn"
        assert target.proc.returncode is None, "the restarted target died"
    finally:
        await qemu.close()
        await target.stop()
