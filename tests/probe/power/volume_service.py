"""The volume service as a real process whose volume directory is a LazyFS mount.

``stratus volume serve`` (the command an operator runs) keeps its records
(LMDB) and volume files under ``volume.dir`` on the forgetful file system;
its identity store and the object store its backups go to (a probe object
cluster of real processes) live on ordinary disk. ``cut()`` is a power cut
of the volume host: SIGKILL, the mount forgets what was not durable, the
host boots (same backing directory) and the service starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from stratus.cli import cluster as layout
from stratus.identity import AlreadyExists, IdentityStore
from tests.helpers.lazyfs import LazyFS
from tests.helpers.net import free_port
from tests.probe.objectstore.harness import ProbeCluster, probe_cluster
from tests.probe.power.cluster import need_fuse

ROOT = Path(__file__).resolve().parents[3]
PROJECT, USER = "power", "vera"
WAIT = 60.0


def write_volume_config(root: Path, c: ProbeCluster, mount: Path, api: int, iscsi: int) -> Path:
    path = root / "volume.toml"
    path.write_text(
        f'[data]\ndir = "{c.cfg.data_dir}"\n'
        f'[volume]\ndir = "{mount}"\nhost = "127.0.0.1"\nport = {api}\n'
        f'backup_url = "http://127.0.0.1:{c.proxy.port}"\n'
        "backup_chunk_size = 1048576\nbackup_concurrency = 4\n"
        "quota_volumes = 1000\nquota_snapshots = 1000\nquota_backups = 1000\n"
        "quota_gigabytes = 100000\nquota_backup_gigabytes = 100000\n"
        f'[iscsi]\nhost = "127.0.0.1"\nport = {iscsi}\n'
    )
    return path


@dataclass
class VolumeHost:
    """One volume service process on one LazyFS disk."""

    root: Path
    cfg_path: Path
    disk: LazyFS
    api_port: int
    iscsi_port: int
    rng: random.Random
    proc: subprocess.Popen[bytes] | None = None
    cuts: list[dict] = field(default_factory=list)

    @property
    def mount(self) -> Path:
        return self.disk.mount

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def log(self) -> Path:
        return self.root / "volume.log"

    def files(self, kind: str) -> Path:
        """``volumes``, ``snapshots`` or ``tmp`` under the file backend."""
        return self.mount / "files" / kind

    async def start(self) -> None:
        argv = [sys.executable, "-m", "stratus.cli.main", "--config", str(self.cfg_path),
                "volume", "serve"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + WAIT
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"volume service exited ({self.proc.returncode}):\n{self.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with s.get(f"{self.url}/healthcheck") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise AssertionError(f"volume service not ready within {WAIT} s:\n{self.tail()}")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def power_off(self) -> dict:
        """The process dies and the disk forgets; nothing runs until ``boot``."""
        self.kill9()
        lost = self.disk.crash(torn=self.rng.random() < 0.5, seed=self.rng.randrange(1 << 30))
        self.cuts.append(lost)
        return lost

    async def boot(self) -> None:
        self.disk.start()
        await self.start()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@contextlib.asynccontextmanager
async def volume_host(root: Path, *, seed: int) -> AsyncIterator[tuple[VolumeHost, str]]:
    """A probe object cluster, and a volume service on LazyFS using it; (host, token)."""
    need_fuse()
    (root / "objects").mkdir(mode=0o700)
    async with probe_cluster(root / "objects") as c:
        with IdentityStore(layout.identity_dir(c.cfg)) as ids:
            with contextlib.suppress(AlreadyExists):
                ids.create_project(PROJECT)
            ids.create_user(PROJECT, USER, role="member")
            tok = ids.issue_token(PROJECT, USER, 3600)[0]
        disk = LazyFS(root / "disk", root / "mnt" / "volumes", root / "lazyfs.sock",
                      root / "lazyfs.log")  # fmt: skip
        api, iscsi = free_port(), free_port()
        host = VolumeHost(
            root,
            write_volume_config(root, c, disk.mount, api, iscsi),
            disk,
            api,
            iscsi,
            random.Random(seed),
        )
        disk.start()
        try:
            await host.start()
            yield host, tok
        finally:
            host.stop()
            disk.stop()
