"""The real `stratus up`, run as a subprocess on free ports in a temp data dir."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.cloud import start_retrying
from tests.helpers.net import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[3]
ADMIN_USER = "admin:admin"
ADMIN_KEY = "e2e-admin-key-0123"


@dataclass
class StratusUp:
    """A `stratus up` process and how to reach it."""

    data_dir: Path
    nodes: int = 3
    proxy_port: int = field(default_factory=free_port)
    base_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    # The other services `stratus up` runs get free ports too, so runs never collide.
    other_ports: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base_port = self.base_port or free_port_block(self.nodes)
        self._pick_other_ports()
        # Its compute service removes interfaces of its prefix that it has no record of:
        # a prefix of its own keeps it off every other test's bridges and taps.
        letters = string.ascii_lowercase + string.digits
        self.other_ports["STRATUS_NETWORK_IFNAME_PREFIX"] = "y" + "".join(
            random.choices(letters, k=3)
        )

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/auth/v1.0"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "stratus-up.log"

    def _pick_other_ports(self) -> None:
        for name in ("S3", "VOLUME", "ISCSI", "IMAGE", "COMPUTE", "NETWORK", "IDENTITY", "CONSOLE"):
            self.other_ports[f"STRATUS_{name}_PORT"] = str(free_port())

    def start(self, timeout: float = 60.0) -> None:
        """Start it, up to three times when the start lost to the machine: a picked port
        taken before it bound it (new ports then), or a service not ready in `stratus up`'s
        own limit while the machine is busy (tests/e2e/cloud.py, ``Cloud.start``)."""

        def new_ports() -> None:
            self.proxy_port, self.base_port = free_port(), free_port_block(self.nodes)
            self._pick_other_ports()

        start_retrying(lambda: self._start(timeout), self.stop, new_ports, RuntimeError)

    def _start(self, timeout: float) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        env.update(
            STRATUS_DATA=str(self.data_dir),
            STRATUS_PROXY_PORT=str(self.proxy_port),
            STRATUS_STORAGE_BASE_PORT=str(self.base_port),
            STRATUS_STORAGE_NODES=str(self.nodes),
            STRATUS_CLUSTER_PART_POWER="8",
            STRATUS_ADMIN_KEY=ADMIN_KEY,
            **self.other_ports,
        )
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stratus.cli.main", "up"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stratus up exited {self.proc.returncode}:\n{self.log()}")
            if self.auth() is not None:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"stratus up not ready in {timeout}s:\n{self.log()}")

    def auth(self) -> tuple[str, str] | None:
        """(storage URL, token) from /auth/v1.0, or None while it does not answer."""
        req = urllib.request.Request(
            self.auth_url, headers={"X-Auth-User": ADMIN_USER, "X-Auth-Key": ADMIN_KEY}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def children(self) -> list[int]:
        """PIDs whose parent is the launcher (its node and proxy processes)."""
        assert self.proc is not None
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        found.append(int(entry.name))
        return found

    def stop(self, grace: float = 30.0, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-6000:]
        return ""


# Package scope: stopped once its package is done, not idling through the rest of the suite.
@pytest.fixture(scope="package")
def stratus_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StratusUp]:
    server = StratusUp(tmp_path_factory.mktemp("stratus-up") / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def swift_cmd(stratus_up: StratusUp) -> list[str]:
    """The unmodified `swift` command of python-swiftclient, pointed at the cluster."""
    swift = Path(sys.executable).with_name("swift")
    if not swift.exists():
        pytest.fail(f"{swift} missing: python-swiftclient is a test dependency")
    return [str(swift), "-A", stratus_up.auth_url, "-U", ADMIN_USER, "-K", ADMIN_KEY]
