"""QEMU processes: the command line, spawning, re-adopting after a restart, and exit watch.

A VM's QEMU is started in its own session (``start_new_session``) with its
output in files, never pipes, so it outlives the compute service; the
service records its pid, the process start time (``/proc/<pid>/stat``, to
tell a reused pid apart) and its QMP socket, and a restarted service adopts
it again. A pidfd tells the event loop the moment the process ends, whether
it is our child or an adopted one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compute_glue.servers.qmp import QmpClient

log = logging.getLogger("compute_glue.servers.process")


class SpawnError(RuntimeError):
    """QEMU did not start (its log's tail is in the message)."""


@dataclass
class Disk:
    """A virtio-blk disk: its block node (``-blockdev``), device, and optional secret."""

    node: dict[str, Any]
    device: dict[str, Any]
    secret_id: str | None = None
    secret_file: Path | None = None


@dataclass
class VmSpec:
    """Everything a VM's command line is made from."""

    server_id: str
    memory_mb: int
    vcpus: int
    console: Path
    qmp: Path
    accel: str = "tcg"
    machine: str = "pc"
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str | None = None
    disks: list[Disk] = field(default_factory=list)
    nics: list[tuple[str, str]] = field(default_factory=list)  # (tap, mac)
    fw_cfg: list[tuple[str, Path]] = field(default_factory=list)  # (name, file)


def qemu_argv(qemu: str, spec: VmSpec) -> list[str]:
    """The QEMU command line of ``spec`` (JSON for -blockdev/-device/-object: no escaping)."""
    argv = [
        qemu,
        "-name", f"stratus-{spec.server_id}",
        "-uuid", spec.server_id,
        "-machine", f"{spec.machine},accel={spec.accel}",
        "-m", f"{spec.memory_mb}M",
        "-smp", str(spec.vcpus),
        "-nodefaults", "-no-user-config", "-nographic",
        "-chardev", f"file,id=console,path={spec.console},append=on",
        "-serial", "chardev:console",
        "-qmp", f"unix:{spec.qmp},server=on,wait=off",
    ]  # fmt: skip
    if spec.kernel is not None:
        argv += ["-kernel", str(spec.kernel)]
        if spec.initrd is not None:
            argv += ["-initrd", str(spec.initrd)]
        argv += ["-append", spec.cmdline or ""]
    for name, path in spec.fw_cfg:  # file=, never string=: argv is public
        argv += ["-fw_cfg", f"name={name},file={str(path).replace(',', ',,')}"]
    for disk in spec.disks:
        if disk.secret_id is not None:
            obj = {"qom-type": "secret", "id": disk.secret_id, "file": str(disk.secret_file)}
            argv += ["-object", json.dumps(obj)]
        argv += ["-blockdev", json.dumps(disk.node), "-device", json.dumps(disk.device)]
    for i, (tap, mac) in enumerate(spec.nics):
        argv += ["-netdev", f"tap,id=net{i},ifname={tap},script=no,downscript=no"]
        argv += ["-device", f"virtio-net-pci,netdev=net{i},mac={mac},id=nic{i}"]
    return argv


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def runs_server(pid: int, server_id: str) -> bool:
    """Whether ``pid`` is a QEMU that runs this server (its -uuid)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(a == b"-uuid" and b == server_id.encode() for a, b in itertools.pairwise(argv))


class VmProcess:
    """One running QEMU: pid, QMP client, and an event set when it ends."""

    def __init__(self, pid: int, ticks: int, qmp_path: Path, popen: Any = None) -> None:
        self.pid = pid
        self.ticks = ticks
        self.qmp_path = qmp_path
        self.qmp: QmpClient | None = None
        self.exited = asyncio.Event()
        self._popen = popen
        self._pidfd: int | None = None
        self._on_exit: list[Callable[[VmProcess], None]] = []

    @classmethod
    async def spawn(
        cls, argv: Sequence[str], log_path: Path, qmp_path: Path, *, timeout: float = 30.0
    ) -> VmProcess:
        """Start QEMU in its own session and connect to its QMP socket."""
        qmp_path.unlink(missing_ok=True)
        with log_path.open("ab") as out:
            popen = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )  # fmt: skip
        vm = cls(popen.pid, start_ticks(popen.pid) or 0, qmp_path, popen)
        vm._watch()
        try:
            await vm._connect(timeout, log_path)
        except BaseException:
            await vm.kill()
            raise
        return vm

    @classmethod
    async def adopt(
        cls, pid: int, ticks: int, server_id: str, qmp_path: Path, *, timeout: float = 10.0
    ) -> VmProcess | None:
        """The QEMU a previous service started, if it still runs; None if it is gone."""
        if start_ticks(pid) != ticks or not runs_server(pid, server_id):
            return None
        vm = cls(pid, ticks, qmp_path)
        vm._watch()
        if vm.exited.is_set():
            return None
        vm.qmp = await QmpClient.connect(qmp_path, timeout)
        return vm

    async def _connect(self, timeout: float, log_path: Path) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.qmp_path.exists():
            if self.exited.is_set() or loop.time() > deadline:
                await asyncio.sleep(0.1)  # let QEMU finish its complaint
                tail = log_path.read_text(errors="replace")[-600:].strip()
                raise SpawnError(f"QEMU did not start: {tail or 'no QMP socket'}")
            await asyncio.sleep(0.05)
        self.qmp = await QmpClient.connect(self.qmp_path, max(1.0, deadline - loop.time()))

    def _watch(self) -> None:
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            self._ended()
            return
        asyncio.get_running_loop().add_reader(self._pidfd, self._ended)

    def _ended(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self._popen is not None:
            with contextlib.suppress(Exception):
                self._popen.poll()  # reap our own child
        if self.exited.is_set():
            return
        self.exited.set()
        for callback in self._on_exit:
            callback(self)

    def on_exit(self, callback: Callable[[VmProcess], None]) -> None:
        self._on_exit.append(callback)

    @property
    def alive(self) -> bool:
        return not self.exited.is_set()

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the process to end; whether it did."""
        with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can lose a cancel
            async with asyncio.timeout(timeout):
                await self.exited.wait()
        return self.exited.is_set()

    async def kill(self) -> None:
        """End QEMU at once (SIGKILL) and wait for it."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            await self.wait(30.0)
        await self.detach()

    async def detach(self) -> None:
        """Let go of the process without ending it (the service stops, QEMU runs on)."""
        if self.qmp is not None:
            await self.qmp.close()
        if self._pidfd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
