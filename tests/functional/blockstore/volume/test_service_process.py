"""`stratus volume serve` as a real process, killed (SIGKILL) in the middle of a clone
and restarted: nothing stays in a transient state, an attached volume is exported again
with the same credentials, and the API keeps its promises."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from blockstore.client import VolumeClient
from stratus.identity import IdentityStore
from tests.functional.blockstore.iscsi.initiator import session
from tests.helpers.net import free_port

MiB = 1024 * 1024
HOST = "iqn.2024-01.org.stratus.test:proc-host"


def write_config(root: Path, api_port: int, iscsi_port: int) -> Path:
    path = root / "stratus.toml"
    path.write_text(
        f'[data]\ndir = "{root / "data"}"\n'
        f"[volume]\nport = {api_port}\n"
        f"[iscsi]\nport = {iscsi_port}\n"
    )
    return path


async def start(cfg: Path, api_port: int, log: Path) -> asyncio.subprocess.Process:
    argv = [sys.executable, "-m", "stratus.cli.main", "--config", str(cfg), "volume", "serve"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(*argv, stdout=out, stderr=out, env=env)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    async with aiohttp.ClientSession() as s:
        while True:
            try:
                async with s.get(f"http://127.0.0.1:{api_port}/healthcheck") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            if proc.returncode is not None or loop.time() > deadline:
                proc.kill()
                raise AssertionError(f"volume service did not start:\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> int:
    if proc.returncode is None:
        proc.send_signal(sig)
    return await asyncio.wait_for(proc.wait(), 30)


@pytest.fixture
def identity(tmp_path: Path):
    store = IdentityStore(tmp_path / "data" / "identity")
    store.create_project("alpha")
    store.create_user("alpha", "alice", role="member")
    yield store
    store.close()


async def test_kill_mid_clone_then_restart(tmp_path: Path, identity: IdentityStore) -> None:
    api_port, iscsi_port = free_port(), free_port()
    cfg = write_config(tmp_path, api_port, iscsi_port)
    log = tmp_path / "volume.log"
    token = identity.issue_token("alpha", "alice", 3600)[0]
    proc = await start(cfg, api_port, log)
    try:
        async with VolumeClient(f"http://127.0.0.1:{api_port}", token, "alpha") as c:
            src = await c.wait_volume((await c.create_volume(1))["id"])
            files = tmp_path / "data" / "volumes" / "files" / "volumes"
            with open(files / f"{src['id']}.img", "r+b") as f:
                for i in range(24):  # scattered data makes the copy take a while
                    f.seek(i * 40 * MiB)
                    f.write(os.urandom(4 * MiB))
            used = await c.wait_volume((await c.create_volume(1))["id"])
            att = await c.attach(used["id"], HOST)
            clone = await c.create_volume(None, source_volid=src["id"])
            assert clone["status"] == "creating"
            await stop(proc, signal.SIGKILL)
            proc = await start(cfg, api_port, log)
            clone = await c.get_volume(clone["id"])
            assert clone["status"] in ("available", "error"), clone
            if clone["status"] == "available":
                a = (files / f"{src['id']}.img").read_bytes()
                assert (files / f"{clone['id']}.img").read_bytes() == a
            else:
                assert not (files / f"{clone['id']}.img").exists()
            assert (await c.get_volume(used["id"]))["status"] == "in-use"
            d = att["connection_info"]["data"]
            host, port = d["target_portal"].rsplit(":", 1)
            async with session(
                host,
                int(port),
                d["target_iqn"],
                name=HOST,
                chap=(d["auth_username"], d["auth_password"]),
            ) as ini:
                assert (await ini.write16(0, b"z" * 512)).status in (0, 2)
            await c.delete_attachment(att["id"])
            await c.delete_volume(clone["id"])
            await c.wait_volume_gone(clone["id"])
        assert await stop(proc) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
