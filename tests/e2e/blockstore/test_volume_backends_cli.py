"""The unmodified `openstack` CLI against `stratus up` with two volume backend processes
(`stratus volume backend`): a type pins a volume to one backend, the admin sees it as
`os-vol-host-attr:host`, and `openstack volume migrate --host` moves it to the other."""

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

from tests.e2e.cloud import ROOT, Cloud, openstack, osj
from tests.helpers.net import free_port

SECRET = "e2e-backend-secret-0123456789"


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
