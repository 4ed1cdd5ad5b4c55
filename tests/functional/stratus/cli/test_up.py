"""`stratus up` failing to start: a clean one-line error, and nothing left running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.helpers.net import free_port

ROOT = Path(__file__).resolve().parents[4]


def test_proxy_port_in_use_fails_cleanly_and_stops_the_nodes(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    base = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env.update(
        STRATUS_DATA=str(tmp_path / "data"),
        STRATUS_PROXY_PORT=str(taken.getsockname()[1]),
        STRATUS_STORAGE_NODES="1",
        STRATUS_STORAGE_BASE_PORT=str(base),
        STRATUS_CLUSTER_PART_POWER="4",
        STRATUS_VOLUME_PORT=str(free_port()),
        STRATUS_ISCSI_PORT=str(free_port()),
    )
    try:
        out = subprocess.run(
            [sys.executable, "-m", "stratus.cli.main", "up"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        taken.close()
    assert out.returncode == 1
    assert "stratus: error: proxy exited" in out.stderr
    assert "proxy.log" in out.stderr  # where to look
    assert "Traceback" not in out.stderr.split("proxy.log")[0]
    # The node that did start was stopped with it: its port is free again
    # (SO_REUSEADDR: a probe's connection may linger in TIME_WAIT, a listener may not).
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", base))
