"""The unmodified `openstack` CLI against `stratus up` with two volume backend processes
(`stratus volume backend`): a type pins a volume to one backend, the admin sees it as
`os-vol-host-attr:host`, and `openstack volume migrate --host` moves it to the other;
backups (full, incremental), their restore, and a volume from an image work there too."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cloud import ROOT, Cloud, need_vm_tools, openstack, osj, upload_test_guest
from tests.helpers.net import free_port

SECRET = "e2e-backend-secret-0123456789"
MiB = 1024 * 1024
FILES: dict[str, Path] = {}  # backend name -> its volume files (the fixture fills it)


def start_backend(root: Path, name: str) -> tuple[subprocess.Popen[bytes], int]:
    root.mkdir()
    port = free_port()
    env = {
        "STRATUS_DATA": str(root / "data"),
        "STRATUS_VOLUME_BACKEND_PORT": str(port),
        "STRATUS_ISCSI_PORT": str(free_port()),
        "STRATUS_VOLUME_BACKEND_SECRET": SECRET,
    }
    env.update({k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")})
    argv = [sys.executable, "-m", "stratus.cli.main", "volume", "backend", "--name", name]
    with (root / "backend.log").open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/stats", headers={"X-Backend-Token": SECRET}
    )
    while True:
        try:
            with urllib.request.urlopen(req, timeout=2):
                return proc, port
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError((root / "backend.log").read_text()[-3000:]) from None
            time.sleep(0.1)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    root = tmp_path_factory.mktemp("backends-cloud")
    procs = []
    try:
        urls = []
        for name in ("fast", "slow"):
            proc, port = start_backend(root / name, name)
            FILES[name] = root / name / "data" / "volumes" / "files" / "volumes"
            procs.append(proc)
            urls.append(f"{name}=http://127.0.0.1:{port}")
        c = Cloud(root / "up")
        (root / "up").mkdir()
        c.env.update(STRATUS_VOLUME_BACKENDS=",".join(urls), STRATUS_VOLUME_BACKEND_SECRET=SECRET)
        c.start()
        try:
            yield c
        finally:
            c.stop()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def wait_show(cloud: Cloud, name: str, key: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        vol = osj(cloud, "volume", "show", name)
        if vol.get(key) == wanted:
            return vol
        if "error" in (vol.get(key), vol["status"]) or time.monotonic() > deadline:
            raise AssertionError(f"{vol}\n{cloud.log.read_text()[-3000:]}")
        time.sleep(0.5)


def test_type_placement_admin_host_and_migrate(cloud: Cloud) -> None:
    openstack(
        cloud, "volume", "type", "create", "--property", "volume_backend_name=slow", "bk-slow"
    )
    osj(cloud, "volume", "create", "--type", "bk-slow", "--size", "1", "bk-vol")
    vol = wait_show(cloud, "bk-vol", "status", "available")
    host = vol["os-vol-host-attr:host"]
    assert host.endswith("@slow#slow"), vol
    services = osj(cloud, "volume", "service", "list", "--service", "cinder-volume")
    assert sorted(s["Host"].split("@")[1] for s in services) == ["fast", "slow"]

    fast = host.replace("@slow#slow", "@fast#fast")
    openstack(cloud, "volume", "migrate", "--host", fast, "bk-vol")
    moved = wait_show(cloud, "bk-vol", "os-vol-mig-status-attr:migstat", "success")
    assert moved["os-vol-host-attr:host"] == fast and moved["status"] == "available"
    openstack(cloud, "volume", "delete", "bk-vol")


def wait_backup(cloud: Cloud, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        bk = osj(cloud, "volume", "backup", "show", name)
        if bk["status"] == "available":
            return bk
        if bk["status"] == "error" or time.monotonic() > deadline:
            raise AssertionError(f"{bk}\n{cloud.log.read_text()[-3000:]}")
        time.sleep(0.5)


def volume_file(vol: dict[str, Any]) -> Path:
    backend = vol["os-vol-host-attr:host"].split("@")[1].split("#")[0]
    return FILES[backend] / f"{vol['id']}.img"


def test_backups_restores_and_image_volumes_on_backends(cloud: Cloud, tmp_path: Path) -> None:
    openstack(
        cloud, "volume", "type", "create", "--property", "volume_backend_name=fast", "bk-fast"
    )
    osj(cloud, "volume", "create", "--type", "bk-fast", "--size", "1", "bk-src")
    src = wait_show(cloud, "bk-src", "status", "available")
    first, second = os.urandom(MiB), os.urandom(MiB)
    with open(volume_file(src), "r+b") as f:
        f.write(first)
    openstack(cloud, "volume", "backup", "create", "--name", "bk-full", "bk-src")
    wait_backup(cloud, "bk-full")
    with open(volume_file(src), "r+b") as f:
        f.seek(300 * MiB)
        f.write(second)
    openstack(cloud, "volume", "backup", "create", "--incremental", "--name", "bk-inc", "bk-src")
    inc = wait_backup(cloud, "bk-inc")
    assert inc["is_incremental"] is True

    restored = osj(cloud, "volume", "backup", "restore", "bk-inc", "bk-restored")
    new = wait_show(cloud, restored["volume_id"], "status", "available")
    with open(volume_file(new), "rb") as f:
        assert f.read(MiB) == first
        f.seek(300 * MiB)
        assert f.read(MiB) == second

    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"image bytes " * 1000)
    osj(cloud, "image", "create", "--file", str(raw), "--disk-format", "raw",
        "--container-format", "bare", "bk-image")  # fmt: skip
    osj(cloud, "volume", "create", "--image", "bk-image", "--type", "bk-fast", "--size", "1",
        "bk-from-image")  # fmt: skip
    made = wait_show(cloud, "bk-from-image", "status", "available")
    assert made["os-vol-host-attr:host"].endswith("@fast#fast")
    with open(volume_file(made), "rb") as f:
        assert f.read(raw.stat().st_size) == raw.read_bytes()


@pytest.mark.slow
def test_migrate_an_attached_volume_with_the_unmodified_cli(cloud: Cloud, tmp_path: Path) -> None:
    """`openstack volume migrate --host` on a volume a running server holds: the server's
    disk moves to the other backend while it runs (the compute service's block mirror)."""
    need_vm_tools()
    upload_test_guest(cloud, tmp_path, "mig")
    script = tmp_path / "user-data.sh"
    script.write_text('echo "T:UP"\nwhile true; do sleep 1; done\n')  # the guest stays up
    server = osj(cloud, "server", "create", "--image", "mig-guest", "--flavor", "m1.tiny",
                 "--nic", "none", "--user-data", str(script), "--wait", "mig-vm")  # fmt: skip
    assert server["status"] == "ACTIVE"
    openstack(
        cloud, "volume", "type", "create", "--property", "volume_backend_name=fast", "mig-fast"
    )
    osj(cloud, "volume", "create", "--type", "mig-fast", "--size", "1", "mig-vol")
    vol = wait_show(cloud, "mig-vol", "status", "available")
    payload = os.urandom(MiB)
    with open(volume_file(vol), "r+b") as f:
        f.write(payload)
    openstack(cloud, "server", "add", "volume", "mig-vm", "mig-vol")
    vol = wait_show(cloud, "mig-vol", "status", "in-use")
    assert vol["os-vol-host-attr:host"].endswith("@fast#fast")

    slow = vol["os-vol-host-attr:host"].replace("@fast#fast", "@slow#slow")
    openstack(cloud, "volume", "migrate", "--host", slow, "mig-vol")
    moved = wait_show(cloud, "mig-vol", "os-vol-mig-status-attr:migstat", "success")
    assert moved["os-vol-host-attr:host"] == slow and moved["status"] == "in-use"
    assert not volume_file(vol).exists()
    with open(volume_file(moved), "rb") as f:
        assert f.read(MiB) == payload
    assert osj(cloud, "server", "show", "mig-vm")["status"] == "ACTIVE"
    openstack(cloud, "server", "remove", "volume", "mig-vm", "mig-vol")
    wait_show(cloud, "mig-vol", "status", "available")
    openstack(cloud, "server", "delete", "--wait", "mig-vm")
    openstack(cloud, "volume", "delete", "mig-vol")
