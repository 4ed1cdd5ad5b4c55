"""The OpenStack tour: the unmodified `openstack` CLI and openstacksdk end to end on `stratus up`.

One `stratus up`, the clouds.yaml it writes, and the everyday path of a user:
a token and the catalog; the test guest uploaded as images; a network with a
DHCP subnet; a volume; ONE server (TCG) whose user data, fetched from the
metadata service, writes a marker onto the volume once it is attached; the
volume detached, snapshotted, backed up, cloned from the snapshot and
restored from the backup (the marker is on each); an object stored and read
back; everything deleted. And the refusals: a wrong password (401), another
project's volume (404), a reader creating a volume (403). The second test
makes one of each resource kind through openstacksdk (no VM).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compute_glue.guest_image import BASE_CMDLINE, MARK_METADATA
from tests.e2e.cloud import ROOT, Cloud
from tests.e2e.compute_glue.test_vms_share_a_volume import interfaces, qemu_pids
from tests.helpers.qemu import guest_image
from tests.helpers.tools import missing_tool, need_tool

OPENSTACK = str(Path(sys.executable).parent / "openstack")
MARKER = b"STRATUS-TOUR-MARKER"
# The attached volume is the guest's first virtio disk (it boots from kernel + initramfs).
GUEST_SCRIPT = f"""echo "T:UP"
while [ ! -b /dev/vda ]; do sleep 0.5; done
echo -n {MARKER.decode()} | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null
sync
echo "T:WROTE $(dd if=/dev/vda bs={len(MARKER)} count=1 2>/dev/null)"
while true; do sleep 5; done
"""

# About 60 CLI runs (each a fresh Python with keystoneauth's discovery) and one TCG guest.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    if os.geteuid() != 0:
        missing_tool("root (CAP_NET_ADMIN) is needed to make bridges and taps")
    need_tool("qemu-system-x86_64", "qemu-system-x86")
    if not Path("/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so").exists():
        missing_tool("QEMU's iSCSI driver (Debian package qemu-block-extra) is not installed")
    c = Cloud(tmp_path_factory.mktemp("tour"))
    c.env["STRATUS_COMPUTE_SHUTDOWN_TIMEOUT"] = "2"  # the test guest ignores ACPI power-off
    c.start()
    try:
        yield c
    finally:
        c.stop()
        for pid in qemu_pids(c.data):  # never leave a VM behind, even when the test failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        for name in interfaces(c.env["STRATUS_NETWORK_IFNAME_PREFIX"]):
            subprocess.run(["ip", "link", "del", name], check=False)


def os_env(cloud: Cloud, user: str | None = None, password: str = "") -> dict[str, str]:
    """The admin through clouds.yaml, or ``user`` of project tour through OS_* variables."""
    env = {k: v for k, v in cloud.env.items() if not k.startswith("OS_")}
    env["PYTHONWARNINGS"] = "ignore"
    if user is None:
        env.update(OS_CLOUD="stratus", OS_CLIENT_CONFIG_FILE=str(cloud.data / "clouds.yaml"))
        return env
    env.update(
        OS_AUTH_URL=f"http://127.0.0.1:{cloud.env['STRATUS_IDENTITY_PORT']}/v3",
        OS_USERNAME=user,
        OS_PASSWORD=password or f"{user}-pw",
        OS_PROJECT_NAME="tour",
        OS_USER_DOMAIN_NAME="Default",
        OS_PROJECT_DOMAIN_NAME="Default",
        OS_IDENTITY_API_VERSION="3",
    )
    return env


def openstack(
    cloud: Cloud, *args: str, check: bool = True, user: str | None = None, password: str = ""
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [OPENSTACK, *args],
        cwd=ROOT,
        env=os_env(cloud, user, password),
        capture_output=True,
        text=True,
        timeout=240,
    )
    if check:
        assert out.returncode == 0, f"openstack {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out


def osj(cloud: Cloud, *args: str, user: str | None = None) -> Any:
    return json.loads(openstack(cloud, *args, "-f", "json", user=user).stdout)


def wait_for(cloud: Cloud, kind: list[str], ident: str, status: str, timeout: float = 120) -> Any:
    """``openstack KIND show IDENT`` once its status is ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        shown = osj(cloud, *kind, "show", ident)
        if shown["status"] == status:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{' '.join(kind)} {ident} is {shown['status']}, not {status}")
        time.sleep(1.0)


def console_line(cloud: Cloud, server: str, marker: str, timeout: float = 120) -> str:
    """The first console line of ``server`` holding ``marker``."""
    deadline = time.monotonic() + timeout
    while True:
        text = openstack(cloud, "console", "log", "show", server).stdout
        hits = [line.strip() for line in text.splitlines() if marker in line]
        if hits:
            return hits[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} on {server}'s console:\n{text[-3000:]}")
        time.sleep(1.0)


def test_the_openstack_cli_tour(cloud: Cloud, tmp_path: Path) -> None:
    # A token and the catalog from clouds.yaml.
    token = osj(cloud, "token", "issue")
    assert token["project_id"] == "admin"
    types = {c["Type"] for c in osj(cloud, "catalog", "list")}
    assert {"identity", "object-store", "block-storage", "compute", "image", "network"} <= types

    # Images: the test guest's kernel and initramfs, and the bootable record naming both.
    guest = guest_image(tmp_path / "guest")
    kernel = osj(cloud, "image", "create", "--file", str(guest.kernel), "--disk-format", "aki",
                 "--container-format", "aki", "tour-kernel")  # fmt: skip
    ramdisk = osj(cloud, "image", "create", "--file", str(guest.initramfs), "--disk-format",
                  "ari", "--container-format", "ari", "tour-initramfs")  # fmt: skip
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    image = osj(cloud, "image", "create", "--file", str(empty), "--disk-format", "raw",
                "--container-format", "bare", "--property", f"kernel_id={kernel['id']}",
                "--property", f"ramdisk_id={ramdisk['id']}",
                "--property", f"os_command_line={BASE_CMDLINE}", "tour-guest")  # fmt: skip
    assert image["status"] == "active"

    # A network with a DHCP subnet (the guest gets a lease and reaches the metadata service).
    net = osj(cloud, "network", "create", "tour-net")
    sub = osj(cloud, "subnet", "create", "--network", "tour-net",
              "--subnet-range", "10.231.12.0/24", "tour-sub")  # fmt: skip
    assert net["status"] == "ACTIVE" and sub["enable_dhcp"] is True

    # A volume, and one server whose user data writes the marker onto it.
    vol = osj(cloud, "volume", "create", "--size", "1", "tour-vol")
    wait_for(cloud, ["volume"], vol["id"], "available")
    script = tmp_path / "user-data.sh"
    script.write_text(GUEST_SCRIPT)
    server = osj(cloud, "server", "create", "--image", "tour-guest", "--flavor", "m1.small",
                 "--network", "tour-net", "--user-data", str(script),
                 "--wait", "tour-vm")  # fmt: skip
    assert server["status"] == "ACTIVE"
    rows = osj(cloud, "server", "list")
    assert [(r["Name"], r["Status"], r["Image"]) for r in rows] == [
        ("tour-vm", "ACTIVE", "tour-guest")
    ]
    address = osj(cloud, "server", "show", "tour-vm")["addresses"]["tour-net"][0]
    assert address.startswith("10.231.12."), address
    console_line(cloud, "tour-vm", "T:UP")
    console_line(cloud, "tour-vm", MARK_METADATA)  # the script came from the metadata service
    openstack(cloud, "server", "add", "volume", "tour-vm", "tour-vol")
    wait_for(cloud, ["volume"], vol["id"], "in-use")
    assert console_line(cloud, "tour-vm", "T:WROTE").endswith(f"T:WROTE {MARKER.decode()}")
    openstack(cloud, "server", "remove", "volume", "tour-vm", "tour-vol")
    wait_for(cloud, ["volume"], vol["id"], "available")
    assert cloud.volume_file(vol["id"]).read_bytes()[: len(MARKER)] == MARKER

    # Snapshot, backup, and a volume from the snapshot: the guest's write is in them.
    snap = osj(cloud, "volume", "snapshot", "create", "--volume", "tour-vol", "tour-snap")
    wait_for(cloud, ["volume", "snapshot"], snap["id"], "available")
    backup = osj(cloud, "volume", "backup", "create", "--name", "tour-backup", "tour-vol")
    wait_for(cloud, ["volume", "backup"], backup["id"], "available")
    clone = osj(cloud, "volume", "create", "--snapshot", "tour-snap", "tour-clone")
    wait_for(cloud, ["volume"], clone["id"], "available")
    assert cloud.volume_file(clone["id"]).read_bytes()[: len(MARKER)] == MARKER
    restored = osj(cloud, "volume", "backup", "restore", "tour-backup", "tour-restored")
    wait_for(cloud, ["volume"], restored["volume_id"], "available")
    assert cloud.volume_file(restored["volume_id"]).read_bytes()[: len(MARKER)] == MARKER

    # An object: stored and read back.
    openstack(cloud, "container", "create", "tour-photos")
    src = tmp_path / "cat.jpg"
    src.write_bytes(os.urandom(4096))
    openstack(cloud, "object", "create", "tour-photos", str(src), "--name", "cat.jpg")
    back = tmp_path / "back.jpg"
    openstack(cloud, "object", "save", "tour-photos", "cat.jpg", "--file", str(back))
    assert back.read_bytes() == src.read_bytes()

    # The refusals: a wrong password, another project's volume, a reader's write.
    out = openstack(cloud, "token", "issue", check=False, user="admin", password="wrong")
    assert out.returncode != 0 and "401" in out.stderr, out.stderr
    openstack(cloud, "project", "create", "tour")
    for user, role in (("dora", "member"), ("rita", "reader")):
        openstack(cloud, "user", "create", "--project", "tour", "--password", f"{user}-pw", user)
        openstack(cloud, "role", "add", "--project", "tour", "--user", user, role)
    out = openstack(cloud, "volume", "show", vol["id"], check=False, user="dora")
    assert out.returncode != 0, out.stdout
    assert re.search(rf"No [Vv]olume (found for |with a name or ID of '?){vol['id']}", out.stderr)
    out = openstack(cloud, "--debug", "volume", "show", vol["id"], check=False, user="dora")
    assert re.search(rf'"GET [^"]*/volumes/{vol["id"]} HTTP/1.1" 404', out.stderr), out.stderr
    out = openstack(cloud, "volume", "create", "--size", "1", "nope", check=False, user="rita")
    assert out.returncode != 0 and "403" in out.stderr, out.stderr
    assert "nope" not in {v["Name"] for v in osj(cloud, "volume", "list", "--all-projects")}

    # Delete everything.
    openstack(cloud, "server", "delete", "--wait", "tour-vm")
    assert osj(cloud, "server", "list") == [] and qemu_pids(cloud.data) == []
    openstack(cloud, "object", "delete", "tour-photos", "cat.jpg")
    openstack(cloud, "container", "delete", "tour-photos")
    wait_for(cloud, ["volume", "backup"], backup["id"], "available")
    openstack(cloud, "volume", "backup", "delete", "tour-backup")
    openstack(cloud, "volume", "delete", "tour-clone", "tour-restored")
    openstack(cloud, "volume", "snapshot", "delete", "tour-snap")
    deadline = time.monotonic() + 60
    while osj(cloud, "volume", "snapshot", "list") and time.monotonic() < deadline:
        time.sleep(1.0)
    openstack(cloud, "volume", "delete", "tour-vol")
    deadline = time.monotonic() + 60
    while osj(cloud, "volume", "list") and time.monotonic() < deadline:
        time.sleep(1.0)
    assert osj(cloud, "volume", "list") == []
    assert osj(cloud, "volume", "backup", "list") == []
    openstack(cloud, "subnet", "delete", "tour-sub")
    openstack(cloud, "network", "delete", "tour-net")
    assert "tour-net" not in {n["Name"] for n in osj(cloud, "network", "list")}
    for name in ("tour-guest", "tour-initramfs", "tour-kernel"):
        openstack(cloud, "image", "delete", name)
    assert osj(cloud, "image", "list") == []
    assert "tour-photos" not in {c["Name"] for c in osj(cloud, "container", "list")}


SDK_TOUR = """
import json, openstack
conn = openstack.connect(cloud="stratus")
seen = {}
image = conn.image.create_image(name="sdk-image", disk_format="raw",
                                container_format="bare", data=b"sdk image bytes")
seen["image"] = conn.image.get_image(image.id).status
net = conn.network.create_network(name="sdk-net")
sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.231.13.0/24",
                                 name="sdk-sub")
seen["subnets"] = [s.cidr for s in conn.network.subnets(network_id=net.id)]
vol = conn.block_storage.create_volume(size=1, name="sdk-vol")
conn.block_storage.wait_for_status(vol, "available", wait=120)
snap = conn.block_storage.create_snapshot(volume_id=vol.id, name="sdk-snap")
conn.block_storage.wait_for_status(snap, "available", wait=120)
backup = conn.block_storage.create_backup(volume_id=vol.id, name="sdk-backup")
conn.block_storage.wait_for_status(backup, "available", wait=120)
seen["volumes"] = sorted(v.name for v in conn.block_storage.volumes())
seen["snapshots"] = [s.name for s in conn.block_storage.snapshots()]
seen["backups"] = [b.name for b in conn.block_storage.backups()]
conn.object_store.create_container("sdk-bucket")
conn.object_store.upload_object(container="sdk-bucket", name="o.txt", data=b"sdk object")
seen["object"] = conn.object_store.download_object("o.txt", container="sdk-bucket").decode()
seen["servers"] = [s.name for s in conn.compute.servers()]
seen["flavors"] = sorted(f.name for f in conn.compute.flavors())
conn.object_store.delete_object("o.txt", container="sdk-bucket")
conn.object_store.delete_container("sdk-bucket")
conn.block_storage.delete_backup(backup)
conn.block_storage.wait_for_delete(backup, wait=120)
conn.block_storage.delete_snapshot(snap)
conn.block_storage.wait_for_delete(snap, wait=120)
conn.block_storage.delete_volume(vol)
conn.block_storage.wait_for_delete(vol, wait=120)
conn.network.delete_subnet(sub)
conn.network.delete_network(net)
conn.image.delete_image(image)
seen["left"] = {
    "images": [i.name for i in conn.image.images()],
    "networks": [n.name for n in conn.network.networks()],
    "volumes": [v.name for v in conn.block_storage.volumes()],
    "containers": [c.name for c in conn.object_store.containers()],
}
print(json.dumps(seen))
"""


def test_the_openstacksdk_tour(cloud: Cloud) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SDK_TOUR],
        cwd=ROOT,
        env=os_env(cloud),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen["image"] == "active"
    assert seen["subnets"] == ["10.231.13.0/24"]
    assert seen["volumes"] == ["sdk-vol"]
    assert (seen["snapshots"], seen["backups"]) == (["sdk-snap"], ["sdk-backup"])
    assert seen["object"] == "sdk object"
    assert seen["servers"] == [] and "m1.small" in seen["flavors"]
    left = seen["left"]
    assert (left["images"], left["networks"], left["volumes"]) == ([], [], [])
    assert "sdk-bucket" not in left["containers"]  # the services' own containers stay
