"""The volume workflow end to end, against the real `stratus up` and unmodified clients.

`stratus volume ...` (the CLI) drives the API; libiscsi (``qemu-io`` with
QEMU's libiscsi driver, and ``iscsi-readcapacity16``) reads and writes
through the portal, IQN and CHAP credentials the attach printed:
create -> attach -> write -> snapshot -> more writes -> a volume from the
snapshot shows the old bytes -> backup -> delete the original -> restore
-> the restored bytes are identical.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xxhash

from tests.e2e.cloud import ROOT, STRATUS, Cloud
from tests.helpers.tools import need_tool

HOST1 = "iqn.2024-01.org.stratus.e2e:host1"
HOST2 = "iqn.2024-01.org.stratus.e2e:host2"
MiB = 1024 * 1024


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    for tool, package in (("qemu-io", "qemu-utils"), ("iscsi-readcapacity16", "libiscsi-bin")):
        need_tool(tool, package)
    c = Cloud(tmp_path)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def qemu_io(info: dict[str, Any], initiator: str, *commands: str) -> str:
    """Run qemu-io commands on the LUN (QEMU's libiscsi driver) with the given credentials."""
    d = info["data"]
    opts = ",".join(
        [
            "driver=iscsi",
            "transport=tcp",
            f"portal={d['target_portal']}",
            f"target={d['target_iqn']}",
            f"lun={d['target_lun']}",
            f"user={d['auth_username']}",
            f"password={d['auth_password']}",
            f"initiator-name={initiator}",
        ]
    )
    argv = ["qemu-io", "--image-opts", opts]
    for cmd in commands:
        argv += ["-c", cmd]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert out.returncode == 0 and "fail" not in text.lower(), text
    return text


def capacity(info: dict[str, Any], initiator: str) -> int:
    d = info["data"]
    url = (
        f"iscsi://{d['auth_username']}%{d['auth_password']}@{d['target_portal']}/"
        f"{d['target_iqn']}/{d['target_lun']}"
    )
    out = subprocess.run(
        ["iscsi-readcapacity16", "-i", initiator, url], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stdout + out.stderr
    fields = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    return (int(fields["RETURNED LOGICAL BLOCK ADDRESS"]) + 1) * int(
        fields["LOGICAL BLOCK LENGTH IN BYTES"]
    )


def digest(path: Path) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(8 * MiB):
            h.update(block)
    return h.hexdigest()


def test_volume_workflow_through_the_cli_and_libiscsi(cloud: Cloud) -> None:
    vol = cloud.volume("create", "1", "--name", "original")
    assert vol["status"] == "available" and vol["size"] == 1
    info = cloud.volume("attach", vol["id"], "--initiator", HOST1)
    assert info["driver_volume_type"] == "iscsi" and info["data"]["auth_method"] == "CHAP"
    assert capacity(info, HOST1) == 1024 * MiB
    qemu_io(info, HOST1, "write -P 0xa1 0 1M", "write -P 0xa2 300M 64k", "read -P 0xa1 0 1M")

    snap = cloud.volume("snapshot", vol["id"], "--force", "--name", "before")
    assert snap["status"] == "available"
    qemu_io(info, HOST1, "write -P 0xb1 0 1M", "read -P 0xb1 0 1M")

    old = cloud.volume("create", "--snapshot", snap["id"], "--name", "from-snapshot")
    old_info = cloud.volume("attach", old["id"], "--initiator", HOST2)
    qemu_io(old_info, HOST2, "read -P 0xa1 0 1M", "read -P 0xa2 300M 64k")

    cloud.volume("detach", vol["id"])
    backup = cloud.volume("backup", vol["id"], "--name", "nightly")
    assert backup["status"] == "available" and backup["object_count"] >= 2
    original = digest(cloud.volume_file(vol["id"]))
    cloud.volume("delete", vol["id"], "--cascade")
    assert not cloud.volume_file(vol["id"]).exists()

    restored = cloud.volume("restore", backup["id"], "--name", "restored")
    assert restored["status"] == "available"
    assert digest(cloud.volume_file(restored["volume_id"])) == original
    new_info = cloud.volume("attach", restored["volume_id"], "--initiator", HOST1)
    qemu_io(new_info, HOST1, "read -P 0xb1 0 1M", "read -P 0xa2 300M 64k", "read -P 0 2M 1M")
    listed = {v["name"]: v["status"] for v in cloud.volume("list")}
    assert listed == {"from-snapshot": "in-use", "restored": "in-use"}
    gone = subprocess.run(
        [STRATUS, "volume", "show", vol["id"]],
        cwd=ROOT,
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gone.returncode == 1 and f"volume {vol['id']!r} not found in project" in gone.stderr
    assert "Traceback" not in gone.stderr
