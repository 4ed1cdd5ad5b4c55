"""`stratus status` and `stratus node replicate --once` against real nodes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shutil
from pathlib import Path

from objectstore.timestamp import Timestamp
from stratus.cli.main import main
from tests.functional.objectstore.node.conftest import (  # noqa: F401  (fixtures)
    client,
    ring_cluster,
    start_node,
)


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
