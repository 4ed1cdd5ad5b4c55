"""`python -m objectstore.node` as a real process: flags, config file, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from objectstore.client import NodeClient, NodeUnavailable
from objectstore.timestamp import Timestamp
from tests.functional.objectstore.node.conftest import Dev
from tests.helpers import slowclient
from tests.helpers.net import free_port

ROOT = Path(__file__).resolve().parents[4]


async def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "objectstore.node", *args, "--log-level", "WARNING"], cwd=ROOT
    )


async def _ready(client: NodeClient, dev: Dev, proc: subprocess.Popen) -> None:
    for _ in range(200):  # bounded
        assert proc.poll() is None, "node exited during start-up"
        try:
            await client.healthcheck(dev)
            return
        except NodeUnavailable:
            await asyncio.sleep(0.05)
    raise AssertionError("node never answered")


async def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return await asyncio.to_thread(proc.wait, 30)


async def test_flags_sigterm_and_restart(tmp_path: Path, client: NodeClient) -> None:
    port = free_port()
    args = ["--ip", "127.0.0.1", "--port", str(port), "--devices-dir", str(tmp_path)]
    args += ["--device", "d0", "--device", "d1", "--hash-prefix", "p", "--hash-suffix", "s"]
    proc = await _spawn(args)
    dev = Dev("127.0.0.1", port, "d1")
    try:
        await _ready(client, dev, proc)
        bodies = {f"o{i}": bytes([i]) * (i * 700) for i in range(8)}  # inline and files
        for name, body in bodies.items():
            await client.put_object(
                dev,
                4,
                "AUTH_m",
                "c",
                name,
                timestamp=Timestamp.now(),
                body=body,
                content_length=len(body),
                content_type="x/y",
                metadata={},
                container_update=None,
            )
    finally:
        assert await _stop(proc) == 0
    proc = await _spawn(args)
    try:
        await _ready(client, dev, proc)
        for name, body in bodies.items():
            assert await (await client.get_object(dev, 4, "AUTH_m", "c", name)).read() == body
    finally:
        assert await _stop(proc) == 0


async def test_config_file_layout(tmp_path: Path, client: NodeClient) -> None:
    base = free_port()
    cfg = tmp_path / "stratus.toml"
    cfg.write_text(
        f'[data]\ndir = "{tmp_path}"\n[storage]\nbase_port = {base - 1}\ndevices_per_node = 2\n'
        '[cluster]\nhash_path_prefix = "a"\nhash_path_suffix = "b"\n'
    )
    proc = await _spawn(["--config", str(cfg), "--node", "1"])
    try:
        await _ready(client, Dev("127.0.0.1", base, "d1"), proc)
        assert await client.put_account(
            Dev("127.0.0.1", base, "d1"), 0, "AUTH_x", timestamp=Timestamp.now()
        )
        assert (tmp_path / "nodes" / "node1" / "d1" / "index").is_dir()
    finally:
        assert await _stop(proc) == 0


async def test_sigterm_keeps_every_acknowledged_write(tmp_path: Path, client: NodeClient) -> None:
    port = free_port()
    args = ["--ip", "127.0.0.1", "--port", str(port), "--devices-dir", str(tmp_path)]
    args += ["--device", "d0"]
    proc = await _spawn(args)
    dev = Dev("127.0.0.1", port, "d0")
    await _ready(client, dev, proc)
    done = 0

    async def put(i: int) -> str:
        nonlocal done
        body = bytes([i % 256]) * (100 + i * 97)
        await client.put_object(
            dev,
            4,
            "AUTH_m",
            "c",
            f"o{i}",
            timestamp=Timestamp.now(),
            body=body,
            content_length=len(body),
            content_type="x/y",
            metadata={},
            container_update=None,
        )
        done += 1
        return f"o{i}"

    tasks = [asyncio.ensure_future(put(i)) for i in range(60)]
    for _ in range(500):  # bounded: stop the node while writes are still arriving
        if done >= 5:
            break
        await asyncio.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert await asyncio.to_thread(proc.wait, 30) == 0
    acknowledged = [r for r in results if isinstance(r, str)]
    assert acknowledged
    proc = await _spawn(args)
    try:
        await _ready(client, dev, proc)
        for name in acknowledged:
            i = int(name[1:])
            got = await (await client.get_object(dev, 4, "AUTH_m", "c", name)).read()
            assert got == bytes([i % 256]) * (100 + i * 97)
    finally:
        assert await _stop(proc) == 0


async def test_config_http_limits_cut_off_slow_and_surplus_clients(
    tmp_path: Path, client: NodeClient
) -> None:
    base = free_port()
    cfg = tmp_path / "stratus.toml"
    cfg.write_text(
        f'[data]\ndir = "{tmp_path}"\n[storage]\nbase_port = {base}\n'
        '[cluster]\nhash_path_prefix = "a"\nhash_path_suffix = "b"\n'
        "[http]\nheader_timeout = 1.0\nmax_connections = 3\n"
    )
    proc = await _spawn(["--config", str(cfg), "--node", "0", "--no-workers"])
    try:
        await _ready(client, Dev("127.0.0.1", base, "d0"), proc)
        closed, after = await slowclient.half_header("127.0.0.1", base, wait=10.0)
        assert closed and after < 5.0  # slowloris: half a header, then nothing
        hogs = await slowclient.idle_connections("127.0.0.1", base, 3)
        try:
            answer = await slowclient.refused("127.0.0.1", base)
            assert answer is not None and answer.startswith(b"HTTP/1.1 503")
        finally:
            for w in hogs:
                w.close()
    finally:
        assert await _stop(proc) == 0
