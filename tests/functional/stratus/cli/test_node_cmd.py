"""`stratus node` runs a real storage node from a configuration file; SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from stratus import config
from stratus.cli import cluster
from tests.helpers.net import free_port

ROOT = Path(__file__).resolve().parents[4]


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[data]\ndir = "{tmp_path / "data"}"\n'
        f"[cluster]\npart_power = 4\n"
        f"[storage]\nnodes = 1\nbase_port = {port}\ndevices_per_node = 2\n"
    )
    return path


def _run(args: list[str], **kw: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "stratus.cli.main", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,  # type: ignore[arg-type]
    )


def test_node_without_rings_or_salts_is_a_clean_error(tmp_path: Path) -> None:
    proc = _run(["node", "--config", str(_config(tmp_path, free_port()))])
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "copy cluster.toml" in out
    assert "Traceback" not in out


def test_node_serves_its_devices_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    cfg_path = _config(tmp_path, port)
    cfg = config.load(cfg_path, env={})
    cluster.ensure_cluster_secrets(cfg, create=True)  # as the first machine did
    cluster.ensure_rings(cfg)
    proc = _run(["node", "--config", str(cfg_path), "--node", "0"])
    try:
        status = None
        for _ in range(300):  # up to ~30 s
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=2) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        assert sorted(p.name for p in (cfg.data_dir / "nodes" / "node0").iterdir()) == ["d0", "d1"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()
