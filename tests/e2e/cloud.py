"""`stratus up` for e2e tests: free ports, one storage node, the CLIs (`stratus`, `openstack`).

``Cloud`` starts one; the ``shared_cloud`` fixture (tests/e2e/conftest.py) is the one the
OpenStack e2e files share. Every test makes its own names and projects on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compute_glue.guest_image import BASE_CMDLINE, GuestImage
from compute_glue.networks import dhcp
from tests.helpers.net import free_port
from tests.helpers.qemu import guest_image
from tests.helpers.tools import missing_tool, need_tool

ROOT = Path(__file__).resolve().parents[2]
STRATUS = str(Path(sys.executable).parent / "stratus")  # the installed console script
OPENSTACK = str(Path(sys.executable).parent / "openstack")
ADMIN_KEY = "e2e-volume-admin-key"
PORTS = ("PROXY", "STORAGE_BASE", "VOLUME", "ISCSI", "S3", "IMAGE", "COMPUTE", "NETWORK",
         "CONSOLE", "IDENTITY")  # fmt: skip


def need_vm_tools() -> None:
    """Skip unless this machine can boot the cloud's VMs (bridges, taps, QEMU over iSCSI)."""
    if os.geteuid() != 0:
        missing_tool("root (CAP_NET_ADMIN) is needed to make bridges and taps")
    need_tool("qemu-system-x86_64", "qemu-system-x86")
    if not Path("/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so").exists():
        missing_tool("QEMU's iSCSI driver (Debian package qemu-block-extra) is not installed")


def qemu_pids(*markers: Path | str) -> list[int]:
    """The QEMU processes whose command line holds every marker (a data dir, a server id)."""
    wanted = [str(m).encode() for m in markers]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"qemu-system" in argv and all(w in argv for w in wanted):
                found.append(int(entry.name))
    return found


def interfaces(prefix: str) -> list[str]:
    """The host's network interfaces whose names start with ``prefix``."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
    return [n for n in names if n.startswith(prefix)]


class Cloud:
    """A `stratus up` on free ports with one storage node, and the CLI pointed at it."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.log = root / "up.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        self.env.update(
            STRATUS_DATA=str(self.data),
            STRATUS_STORAGE_NODES="1",
            STRATUS_CLUSTER_REPLICAS="1",
            STRATUS_CLUSTER_PART_POWER="4",
            # Its compute service removes unrecorded interfaces of its prefix: its own prefix.
            STRATUS_NETWORK_IFNAME_PREFIX="x" + secrets.token_hex(2)[:3],
            STRATUS_ADMIN_KEY=ADMIN_KEY,
            ST_KEY=ADMIN_KEY,
        )
        self._pick_ports()
        self.proc: subprocess.Popen[bytes] | None = None

    def _pick_ports(self) -> None:
        for name in PORTS:
            self.env[f"STRATUS_{name}_PORT"] = str(free_port())

    def start(self, timeout: float = 60) -> None:
        """Start it, up to three times when the start itself failed for want of a machine:
        a picked port taken before it bound it (new ports then), or a service not ready
        in `stratus up`'s own limit while the machine is busy (the suite runs on several
        workers). Any other failure is the test's."""
        start_retrying(lambda: self._start(timeout), self.stop, self._pick_ports, AssertionError)

    def _start(self, timeout: float) -> None:
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
        # VMs, their bridges and taps, and the networks' dnsmasq outlive `stratus up`:
        # never leave one behind, even when a test failed.
        prefix = self.env["STRATUS_NETWORK_IFNAME_PREFIX"]
        dhcp.stop_all(prefix)
        for pid in qemu_pids(self.data):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if os.geteuid() == 0:
            for name in interfaces(prefix):
                subprocess.run(["ip", "link", "del", name], check=False)

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


def start_lost_a_race(failure: str) -> bool:
    """Whether a failed `stratus up` start lost to the machine (see ``Cloud.start``)."""
    return "address already in use" in failure or "not ready after" in failure


def start_retrying(
    start: Callable[[], None],
    stop: Callable[[], object],
    new_ports: Callable[[], None],
    failure: type[Exception],
) -> None:
    """``start()``, up to three times when it lost to the machine (``start_lost_a_race``):
    stopped in between, with new ports when a picked one was taken. Any other failure is
    the test's."""
    for attempt in range(3):
        try:
            start()
            return
        except failure as exc:
            if attempt == 2 or not start_lost_a_race(str(exc)):
                raise
            stop()
            if "address already in use" in str(exc):
                new_ports()


def os_env(
    cloud: Cloud, user: str | None = None, project: str = "admin", password: str = ""
) -> dict[str, str]:
    """The admin through the clouds.yaml `stratus up` wrote, or ``user`` of ``project`` through
    OS_* variables (password ``<user>-pw`` unless given)."""
    env = {k: v for k, v in cloud.env.items() if not k.startswith("OS_")}
    env["PYTHONWARNINGS"] = "ignore"
    if user is None:
        env.update(OS_CLOUD="stratus", OS_CLIENT_CONFIG_FILE=str(cloud.data / "clouds.yaml"))
        return env
    env.update(
        OS_AUTH_URL=f"http://127.0.0.1:{cloud.env['STRATUS_IDENTITY_PORT']}/v3",
        OS_USERNAME=user,
        OS_PASSWORD=password or f"{user}-pw",
        OS_PROJECT_NAME=project,
        OS_USER_DOMAIN_NAME="Default",
        OS_PROJECT_DOMAIN_NAME="Default",
        OS_IDENTITY_API_VERSION="3",
    )
    return env


def openstack(
    cloud: Cloud,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """Run the `openstack` CLI as the admin (or in ``env``, see ``os_env``)."""
    out = subprocess.run(
        [OPENSTACK, *args],
        cwd=ROOT,
        env=env or os_env(cloud),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert out.returncode == 0, f"openstack {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out


def osj(cloud: Cloud, *args: str, env: dict[str, str] | None = None) -> Any:
    """`openstack ARGS -f json`; the printed JSON."""
    return json.loads(openstack(cloud, *args, "-f", "json", env=env).stdout)


def upload_test_guest(cloud: Cloud, tmp_path: Path, prefix: str) -> tuple[GuestImage, dict]:
    """The test guest uploaded by `openstack image create --file` as ``PREFIX-kernel``,
    ``PREFIX-initramfs`` and the bootable ``PREFIX-guest`` naming both: its files, and the
    three images as created (keys kernel, ramdisk, image)."""
    guest = guest_image(tmp_path / "guest")
    kernel = osj(cloud, "image", "create", "--file", str(guest.kernel), "--disk-format", "aki",
                 "--container-format", "aki", f"{prefix}-kernel")  # fmt: skip
    ramdisk = osj(cloud, "image", "create", "--file", str(guest.initramfs), "--disk-format",
                  "ari", "--container-format", "ari", f"{prefix}-initramfs")  # fmt: skip
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    image = osj(cloud, "image", "create", "--file", str(empty), "--disk-format", "raw",
                "--container-format", "bare", "--property", f"kernel_id={kernel['id']}",
                "--property", f"ramdisk_id={ramdisk['id']}",
                "--property", f"os_command_line={BASE_CMDLINE}", f"{prefix}-guest")  # fmt: skip
    return guest, {"kernel": kernel, "ramdisk": ramdisk, "image": image}
