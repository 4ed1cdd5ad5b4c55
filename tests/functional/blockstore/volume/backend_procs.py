"""`stratus volume backend` processes on loopback for the tests of several backends: each
with its own storage directory and iSCSI portal, started from a configuration file as an
operator would write it, killed (-9) or stopped at the end.

``elsewhere=True`` starts the process in its own directory with a relative ``volume.dir``:
the paths it reports name nothing in the test's (the API's) working directory, as a
backend on another host would, so the API can reach its bytes only over its internal API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from blockstore.pool.server import TOKEN_HEADER

MiB = 1024 * 1024
SECRET = "backend-secret-for-tests-0123456789"
HOSTNAME = socket.gethostname()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


def head(path: Path, n: int = MiB, offset: int = 0) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


@dataclass
class BackendProc:
    name: str
    root: Path
    port: int
    iscsi_port: int
    capacity_gb: int
    proc: asyncio.subprocess.Process | None = None
    elsewhere: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"{HOSTNAME}@{self.name}#{self.name}"

    @property
    def files(self) -> Path:
        if self.elsewhere:
            return self.root / "vols" / "files"
        return self.root / "data" / "volumes" / "files"

    def volume_file(self, volume_id: str) -> Path:
        return self.files / "volumes" / f"{volume_id}.img"

    def snapshot_file(self, snapshot_id: str) -> Path:
        return self.files / "snapshots" / f"{snapshot_id}.img"

    async def start(self) -> None:
        cfg = self.root / "backend.toml"
        volume_dir = 'dir = "vols"\n' if self.elsewhere else ""
        cfg.write_text(
            f'[data]\ndir = "{self.root / "data"}"\n'
            f"[volume]\nbackend_port = {self.port}\ncapacity_gb = {self.capacity_gb}\n"
            f'backend_secret = "{SECRET}"\n{volume_dir}'
            f"[iscsi]\nport = {self.iscsi_port}\n"
        )
        argv = [sys.executable, "-m", "stratus.cli.main", "--config", str(cfg)]
        argv += ["volume", "backend", "--name", self.name]
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        if self.elsewhere:  # the module path, which the process's own directory is not
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        with (self.root / "backend.log").open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdout=out, stderr=out, env=env, cwd=self.root
            )
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as s:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with s.get(f"{self.url}/stats", headers={TOKEN_HEADER: SECRET}) as r:
                        if r.status == 200:
                            return
                if self.proc.returncode is not None or time.monotonic() > deadline:
                    log = (self.root / "backend.log").read_text()[-3000:]
                    raise AssertionError(f"backend {self.name} did not start:\n{log}")
                await asyncio.sleep(0.1)

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await asyncio.wait_for(self.proc.wait(), 30)
