"""`stratus status` and `stratus node replicate --once` against real nodes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from objectstore.common.values import ContainerUpdate
from objectstore.timestamp import Timestamp
from stratus.cli.main import main
from tests.functional.objectstore.node.conftest import (  # noqa: F401  (fixtures)
    Dev,
    client,
    ring_cluster,
    start_node,
)
from tests.helpers.net import free_port


def _config(tmp_path: Path, ring_dir: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copytree(ring_dir, data / "rings")
    path = tmp_path / "stratus.toml"
    path.write_text(f'[data]\ndir = "{data}"\n')
    return path


async def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out):
            return main(list(argv))

    code = await asyncio.to_thread(call)
    return code, out.getvalue()


async def test_replicate_once_then_status(ring_cluster, tmp_path: Path) -> None:  # noqa: F811
    c = await ring_cluster()
    cfg = _config(tmp_path, c.ring_dir)
    part, primaries = c.ring().get_nodes("AUTH_s", "c", "o")
    await c.client.put_object(
        primaries[0], part, "AUTH_s", "c", "o", timestamp=Timestamp.now(), body=b"x",
        content_length=1, content_type="t", metadata={}, container_update=None,
    )  # fmt: skip
    code, out = await _run("--config", str(cfg), "node", "replicate", "--once", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert len(report) == 3
    pushed = sum(r["object-replicator"]["last"]["pushed"] for r in report.values())
    assert pushed == 2
    code, out = await _run("--config", str(cfg), "status", "--json")
    assert code == 0, out
    status = json.loads(out)
    assert status["nodes_up"] == 3 and status["replication_lag"] is not None
    assert status["rings"]["object"]["replicas"] == 3 and status["rings"]["object"]["balance"] < 50
    # A node goes down: status says so (and exits 1); the table names it.
    await c.nodes[2].stop()
    code, out = await _run("--config", str(cfg), "status")
    assert code == 1
    assert "nodes up 2/3" in out and "DOWN" in out


async def test_async_pending_is_explained(ring_cluster, tmp_path: Path) -> None:  # noqa: F811
    """A queued container update shows in the count and a legend says what it is and where
    to look when it does not fall; with nothing queued there is no legend."""
    c = await ring_cluster()
    cfg = _config(tmp_path, c.ring_dir)
    code, out = await _run("--config", str(cfg), "status")
    assert code == 0 and "async pending 0" in out
    assert "retried by the updater" not in out
    part, primaries = c.ring().get_nodes("AUTH_s", "c", "o")
    nowhere = Dev("127.0.0.1", free_port(), "d0")  # the container replica does not answer
    await c.client.put_object(
        primaries[0], part, "AUTH_s", "c", "o", timestamp=Timestamp.now(), body=b"x",
        content_length=1, content_type="t", metadata={},
        container_update=ContainerUpdate(nowhere, 1),
    )  # fmt: skip
    code, out = await _run("--config", str(cfg), "status")
    assert code == 0, out
    assert "async pending 1" in out
    legend = [line for line in out.splitlines() if "retried by the updater" in line]
    assert len(legend) == 1, out
    assert "container/account updates queued on storage nodes" in legend[0]
    assert f"{tmp_path / 'data' / 'logs'}/node*.log" in legend[0]


async def test_status_into_a_closed_pipe_is_quiet(ring_cluster, tmp_path: Path) -> None:  # noqa: F811
    """`stratus status | head -1`: the reader is gone before stratus writes (a real pipe
    whose read end is closed), and stratus ends quietly with a shell's SIGPIPE status."""
    c = await ring_cluster()
    cfg = _config(tmp_path, c.ring_dir)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        out = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "stratus.cli.main", "--config", str(cfg), "status"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")},
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert out.stderr.decode() == ""
    assert out.returncode == 141
