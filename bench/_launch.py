"""Run `stratus up` as a child of a benchmark, on free loopback ports in a given data dir."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_USER = "admin:admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_block(count: int) -> int:
    """A base port with ``count`` consecutive free ports after it (best effort)."""
    for _ in range(50):
        base = free_port()
        if base + count > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports")


class StratusUp:
    """One `stratus up` process: start, wait for a working /auth/v1.0, stop."""

    def __init__(self, data_dir: Path, *, nodes: int = 3, admin_key: str = "benchkey") -> None:
        self.data_dir = data_dir
        self.nodes = nodes
        self.admin_key = admin_key
        self.proxy_port = free_port()
        self.base_port = free_port_block(nodes)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.up.log"
        # Every service on a free port, so a bench runs beside another `stratus up`.
        services = ("S3", "VOLUME", "ISCSI", "IDENTITY", "IMAGE", "COMPUTE", "NETWORK", "CONSOLE")
        self.other_ports = {f"STRATUS_{name}_PORT": str(free_port()) for name in services}
        self.other_ports["STRATUS_VOLUME_BACKEND_PORT"] = str(free_port())
        self.other_ports["STRATUS_NETWORK_METADATA_PORT"] = str(free_port())

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/auth/v1.0"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        env.update(
            STRATUS_DATA=str(self.data_dir),
            STRATUS_PROXY_PORT=str(self.proxy_port),
            STRATUS_STORAGE_BASE_PORT=str(self.base_port),
            STRATUS_STORAGE_NODES=str(self.nodes),
            STRATUS_ADMIN_KEY=self.admin_key,
            **self.other_ports,
        )
        return env

    def spawn(self) -> float:
        """Start the process; returns the monotonic time it was spawned."""
        t0 = time.monotonic()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stratus.cli.main", "up"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return t0

    def auth(self) -> tuple[str, str] | None:
        """(storage URL, token), or None while the proxy is not answering."""
        req = urllib.request.Request(
            self.auth_url, headers={"X-Auth-User": ADMIN_USER, "X-Auth-Key": self.admin_key}
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def wait_ready(self, timeout: float = 60.0) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"stratus up exited ({self.proc.returncode}); {self.log_tail()}")
            got = self.auth()
            if got is not None:
                return got
            time.sleep(0.02)
        raise RuntimeError(f"stratus up not ready after {timeout}s; {self.log_tail()}")

    def start(self, timeout: float = 60.0) -> tuple[str, str]:
        self.spawn()
        return self.wait_ready(timeout)

    def stop(self, grace: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log_tail(self, n: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""


def request(method: str, url: str, token: str, body: bytes | None = None) -> tuple[int, bytes]:
    """(status, response body) of one request with a token."""
    req = urllib.request.Request(url, data=body, method=method, headers={"X-Auth-Token": token})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def emit(doc: dict, out: str | None) -> None:
    text = json.dumps(doc, indent=1)
    print(text)
    if out:
        Path(out).write_text(text + "\n")
