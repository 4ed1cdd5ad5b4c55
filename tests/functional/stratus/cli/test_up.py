"""`stratus up` failing to start: a clean one-line error, and nothing left running."""

from __future__ import annotations

import os
import secrets
import signal
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
        STRATUS_IDENTITY_PORT=str(free_port()),
        STRATUS_CONSOLE_PORT=str(free_port()),
        STRATUS_S3_PORT=str(free_port()),
        STRATUS_IMAGE_PORT=str(free_port()),
        STRATUS_COMPUTE_PORT=str(free_port()),
        STRATUS_NETWORK_PORT=str(free_port()),
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


def _up_env(data: Path) -> dict[str, str]:
    """`stratus up` with one node, every service on a free port, interfaces of its own prefix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env.update(
        STRATUS_DATA=str(data),
        STRATUS_STORAGE_NODES="1",
        STRATUS_CLUSTER_REPLICAS="1",
        STRATUS_CLUSTER_PART_POWER="4",
        STRATUS_STORAGE_BASE_PORT=str(free_port()),
        STRATUS_NETWORK_IFNAME_PREFIX="z" + secrets.token_hex(2)[:3],
        **{
            f"STRATUS_{name}_PORT": str(free_port())
            for name in (
                "PROXY",
                "S3",
                "VOLUME",
                "ISCSI",
                "IMAGE",
                "COMPUTE",
                "NETWORK",
                "IDENTITY",
                "CONSOLE",
            )
        },
    )
    return env


def test_clean_stop_leaves_no_pid_in_the_lock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    lock = data / "run" / "up.lock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stratus.cli.main", "up"],
        cwd=ROOT,
        env=_up_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:  # bounded by the pytest timeout and by the process exiting
            seen.append(line)
            if line.startswith("stratus: up in "):
                break
        assert seen and seen[-1].startswith("stratus: up in "), "".join(seen)
        assert lock.read_text().strip() == str(proc.pid)  # held while it runs
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert "stratus: stopped" in rest
    assert lock.read_text() == ""  # a clean stop leaves no PID behind


def test_stale_lock_of_a_crashed_launcher_is_taken_over(tmp_path: Path) -> None:
    data = tmp_path / "data"
    lock = data / "run" / "up.lock"
    data.mkdir(mode=0o700)  # private, as `stratus up` makes it
    lock.parent.mkdir(mode=0o700)
    crashed = subprocess.Popen(["true"])  # a launcher that died holding the file: its PID
    crashed.wait()
    lock.write_text(f"{crashed.pid}\n")
    subprocess.run(["chmod", "-R", "go-rwx", str(data)], check=True)  # data must be private
    out = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "up", "--exit-after-start"],
        cwd=ROOT,
        env=_up_env(data),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (
        f"a previous `stratus up` (pid {crashed.pid}) did not stop cleanly; taking over"
        in out.stdout
    )
    assert lock.read_text() == ""
