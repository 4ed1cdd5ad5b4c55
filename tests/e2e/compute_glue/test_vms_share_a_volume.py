"""Boot two VMs on a private network and pass a volume between them, all through `stratus`.

Against a real `stratus up` (object store, images, volumes with the built-in
iSCSI target, compute), driven only by the `stratus` CLI, with real QEMU
guests under TCG: upload the test guest; create a network; boot A and B;
create a volume; attach it to A while A runs; A writes a known pattern and
prints its checksum; detach; attach to B; B prints the same checksum; A and
B ping each other; delete everything; no bridge, tap, QEMU process or
export is left.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cloud import Cloud, interfaces, need_vm_tools, qemu_pids
from tests.helpers.tools import need_tool

MiB = 1024 * 1024
WORD = b"STRATUS-E2E-VM\n"
PATTERN_MD5 = hashlib.md5((WORD * (MiB // len(WORD) + 1))[:MiB]).hexdigest()
CIDR, ADDR_A, ADDR_B = "10.231.7.0/24", "10.231.7.11", "10.231.7.12"
INITIATOR_PREFIX = "iqn.2026-11.io.stratus.compute"  # compute.initiator_prefix's default

pytestmark = pytest.mark.slow


def guest_script(peer: str, write: bool) -> str:
    """Ping the peer until it answers; checksum the first disk that appears (writing it first)."""
    fill = (
        "yes STRATUS-E2E-VM | head -c 1048576 > /tmp/p\n"
        "dd if=/tmp/p of=/dev/vda bs=65536 oflag=direct conv=fsync 2>/dev/null\n"
        if write
        else ""
    )
    return f"""echo "T:UP"
( for i in $(seq 120); do
    if ping -c 1 -W 1 {peer} >/dev/null 2>&1; then echo "T:PING ok {peer}"; break; fi
    sleep 1
  done ) &
while [ ! -b /dev/vda ]; do sleep 0.2; done
{fill}s=$(dd if=/dev/vda bs=65536 count=16 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
echo "T:SUM $s"
while [ -b /dev/vda ]; do sleep 0.2; done
echo "T:GONE"
while true; do sleep 1; done
"""


def console_line(cloud: Cloud, server_id: str, marker: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = cloud.cli("server", "console", server_id)["output"]
        for line in text.splitlines():
            if marker in line:
                return line.strip()
        if time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} on {server_id}'s console:\n{text[-3000:]}")
        time.sleep(1.0)


def discovered(cloud: Cloud, server_id: str) -> str:
    """What SendTargets shows the initiator of ``server_id`` on the cloud's portal."""
    portal = f"127.0.0.1:{cloud.env['STRATUS_ISCSI_PORT']}"
    argv = ["iscsi-ls", "-s", "-i", f"{INITIATOR_PREFIX}:{server_id}", f"iscsi://{portal}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    need_vm_tools()
    need_tool("iscsi-ls", "libiscsi-bin")
    c = Cloud(tmp_path)
    # discovered() lists exports by a VM's initiator name without CHAP (iscsi.discovery_auth)
    c.env["STRATUS_ISCSI_DISCOVERY_AUTH"] = "none"
    c.start()
    try:
        yield c
    finally:
        c.stop()  # and kills any VM left behind, with its bridges and taps


def test_two_vms_pass_a_volume_and_ping_each_other(cloud: Cloud, tmp_path: Path) -> None:
    prefix = cloud.env["STRATUS_NETWORK_IFNAME_PREFIX"]
    guest = cloud.cli("image", "build-test-guest", "--cache-dir", str(tmp_path / "guest"))
    image = guest["image"]["id"]
    net = cloud.cli("network", "create", "private", "--cidr", CIDR)["network"]
    assert interfaces(prefix) == [net["stratus:bridge"]]
    servers = {}
    plan = (("vm-a", ADDR_A, ADDR_B, True), ("vm-b", ADDR_B, ADDR_A, False))
    for name, addr, peer, write in plan:
        script = tmp_path / f"{name}.sh"
        script.write_text(guest_script(peer, write))
        servers[name] = cloud.cli(
            "server", "create", name, "--image", image,
            "--network", f"private={addr}", "--script", str(script),
        )  # fmt: skip
        assert servers[name]["status"] == "ACTIVE"
    a, b = servers["vm-a"]["id"], servers["vm-b"]["id"]
    listed = {s["name"]: s["status"] for s in cloud.cli("server", "list")}
    assert listed == {"vm-a": "ACTIVE", "vm-b": "ACTIVE"}
    assert len(qemu_pids(cloud.data)) == 2
    vol = cloud.volume("create", "1", "--name", "shared")
    assert vol["status"] == "available"

    # A gets the volume while it runs, writes the pattern and prints its checksum.
    att = cloud.cli("server", "add-volume", "vm-a", vol["id"])
    assert att["device"] == "/dev/vda"
    assert cloud.volume("show", vol["id"])["status"] == "in-use"
    assert console_line(cloud, a, "T:SUM").split()[-1] == PATTERN_MD5
    assert f"volume-{vol['id']}" in discovered(cloud, a)
    cloud.cli("server", "remove-volume", "vm-a", vol["id"])
    console_line(cloud, a, "T:GONE")
    assert cloud.volume("show", vol["id"])["status"] == "available"
    assert f"volume-{vol['id']}" not in discovered(cloud, a)  # A's export is gone

    # B gets it next and reads the same bytes.
    cloud.cli("server", "add-volume", "vm-b", vol["id"])
    assert console_line(cloud, b, "T:SUM").split()[-1] == PATTERN_MD5
    # Both guests reached each other over the private network.
    assert ADDR_B in console_line(cloud, a, "T:PING ok")
    assert ADDR_A in console_line(cloud, b, "T:PING ok")
    cloud.cli("server", "remove-volume", "vm-b", vol["id"])
    console_line(cloud, b, "T:GONE")

    # Delete everything: nothing may be left on the host.
    for name in ("vm-a", "vm-b"):
        cloud.cli("server", "delete", name)
    assert cloud.cli("server", "list") == []
    cloud.volume("delete", vol["id"])
    cloud.cli("network", "delete", "private")
    assert qemu_pids(cloud.data) == []
    assert interfaces(prefix) == []
    assert f"volume-{vol['id']}" not in discovered(cloud, b)
    assert not cloud.volume_file(vol["id"]).exists()
    for ref in (image, guest["kernel"], guest["ramdisk"]):
        cloud.cli("image", "delete", ref)
    assert cloud.cli("image", "list") == []
