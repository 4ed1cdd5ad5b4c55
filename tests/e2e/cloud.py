"""A `stratus up` of its own for an e2e test: free ports, one storage node, the CLI as admin."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from compute_glue.networks import dhcp
from tests.helpers.net import free_port

ROOT = Path(__file__).resolve().parents[2]
STRATUS = str(Path(sys.executable).parent / "stratus")  # the installed console script
ADMIN_KEY = "e2e-volume-admin-key"


class Cloud:
    """A `stratus up` on free ports with one storage node, and the CLI pointed at it."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.log = root / "up.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        self.env.update(
            STRATUS_DATA=str(self.data),
            STRATUS_PROXY_PORT=str(free_port()),
            STRATUS_STORAGE_BASE_PORT=str(free_port()),
            STRATUS_STORAGE_NODES="1",
            STRATUS_CLUSTER_REPLICAS="1",
            STRATUS_CLUSTER_PART_POWER="4",
            STRATUS_VOLUME_PORT=str(free_port()),
            STRATUS_ISCSI_PORT=str(free_port()),
            STRATUS_S3_PORT=str(free_port()),
            STRATUS_IMAGE_PORT=str(free_port()),
            STRATUS_COMPUTE_PORT=str(free_port()),
            STRATUS_NETWORK_PORT=str(free_port()),
            STRATUS_CONSOLE_PORT=str(free_port()),
            STRATUS_IDENTITY_PORT=str(free_port()),
            # Its compute service removes unrecorded interfaces of its prefix: its own prefix.
            STRATUS_NETWORK_IFNAME_PREFIX="x" + secrets.token_hex(2)[:3],
            STRATUS_ADMIN_KEY=ADMIN_KEY,
            ST_KEY=ADMIN_KEY,
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stratus.cli.main", "up"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        waiting = [
            f"http://127.0.0.1:{self.env[f'STRATUS_{name}_PORT']}/healthcheck"
            for name in ("VOLUME", "IMAGE", "COMPUTE", "IDENTITY", "CONSOLE")
        ]
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"stratus up exited:\n{self.log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(waiting[0], timeout=2) as resp:
                    if resp.status == 200:
                        waiting.pop(0)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        if waiting:
            raise AssertionError(f"{waiting[0]} not ready:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Like its VMs, the networks' dnsmasq processes outlive `stratus up`.
        dhcp.stop_all(self.env["STRATUS_NETWORK_IFNAME_PREFIX"])

    def cli(self, *args: str, timeout: float = 300) -> Any:
        """Run `stratus ARGS --json` as the admin; the printed JSON."""
        out = subprocess.run(
            [STRATUS, *args, "--json"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert out.returncode == 0, f"stratus {' '.join(args)}: {out.stderr}"
        return json.loads(out.stdout)

    def volume(self, *args: str) -> Any:
        """Run `stratus volume ARGS --json`; the printed JSON."""
        return self.cli("volume", *args, timeout=120)

    def volume_file(self, volume_id: str) -> Path:
        return self.data / "volumes" / "files" / "volumes" / f"{volume_id}.img"
