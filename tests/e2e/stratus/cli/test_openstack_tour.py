"""The OpenStack tour: the unmodified `openstack` CLI and openstacksdk end to end on `stratus up`.

The shared `stratus up`, the clouds.yaml it writes, and the everyday path of a user:
a token and the catalog; the test guest uploaded as images; a network with a
DHCP subnet; a volume; ONE server (TCG) with an image, a flavor, the network, user
data (fetched from the metadata service) and the volume in its block device
mapping; the guest writes a marker onto the volume; the volume moved out and back
in while the guest runs; stop/start/reboot; the server read through openstacksdk
and deleted (the volume stays); the volume snapshotted, backed up, cloned from the
snapshot and restored from the backup (the marker is on each); an object stored
and read back; everything deleted. And the refusals: a wrong password (401),
another project's volume (404) and server, a reader creating a volume or a server
(403). The second test makes one of each resource kind through
openstacksdk (no VM).

The cloud is shared with other e2e files: each test looks only at its own names
(``tour-`` and ``sdk-``) and its own project (``tour``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from compute_glue.guest_image import MARK_METADATA
from tests.e2e.cloud import (
    ROOT,
    Cloud,
    need_vm_tools,
    openstack,
    os_env,
    osj,
    qemu_pids,
    upload_test_guest,
)

MARKER = b"STRATUS-TOUR-MARKER"
CIDR = "10.231.12.0/24"
# The volume is the guest's first virtio disk (it boots from kernel + initramfs). Each time
# the set of disks changes the guest says so; each time the volume (re)appears it writes the
# marker onto it first and reads it back.
GUEST_SCRIPT = f"""echo "T:UP"
last=x
while true; do
  now=$(ls /dev | grep '^vd' | tr '\\n' ' ')
  if [ "$now" != "$last" ]; then
    if [ -b /dev/vda ]; then
      echo -n {MARKER.decode()} | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null
      sync
      echo "T:WROTE $(dd if=/dev/vda bs={len(MARKER)} count=1 2>/dev/null)"
    fi
    echo "T:DISKS [$now]"
    last="$now"
  fi
  sleep 0.5
done
"""

# About 100 CLI runs (each a fresh Python with keystoneauth's discovery) and one TCG guest,
# booted three times (create, start, reboot).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture
def cloud(shared_cloud: Cloud) -> Cloud:
    return shared_cloud


def mine(rows: list[dict[str, Any]], prefix: str = "tour-", key: str = "Name") -> list[Any]:
    """The rows of this test's own resources (the cloud is shared)."""
    return [r for r in rows if str(r[key]).startswith(prefix)]


def wait_for(cloud: Cloud, kind: list[str], ident: str, status: str, timeout: float = 120) -> Any:
    """``openstack KIND show IDENT`` once its status is ``status`` (and no task is under way)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = osj(cloud, *kind, "show", ident)
        if shown["status"] == status and shown.get("OS-EXT-STS:task_state") is None:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{' '.join(kind)} {ident} is {shown['status']}, not {status}")
        time.sleep(0.5)


def console_lines(cloud: Cloud, server: str, want: dict[str, int], timeout: float = 120):
    """The console's lines, once each marker in ``want`` is on at least that many of them."""
    deadline = time.monotonic() + timeout
    while True:
        text = openstack(cloud, "console", "log", "show", server).stdout
        # Only whole lines: the guest may be half-way through writing the last one.
        lines = [line.strip() for line in text[: text.rfind("\n") + 1].splitlines()]
        short = {m: n for m, n in want.items() if sum(m in line for line in lines) < n}
        if not short:
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"{server}'s console lacks {short}:\n{text[-3000:]}")
        time.sleep(0.5)


def sdk(cloud: Cloud, script: str, timeout: float = 120) -> Any:
    """Run ``script`` with ``conn`` (openstacksdk, the stratus cloud); the JSON it prints last."""
    code = "import json, openstack\nconn = openstack.connect(cloud='stratus')\n" + script
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=os_env(cloud),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_the_openstack_cli_tour(cloud: Cloud, tmp_path: Path) -> None:
    need_vm_tools()
    # A token and the catalog from clouds.yaml.
    token = osj(cloud, "token", "issue")
    assert token["project_id"] == "admin"
    types = {c["Type"] for c in osj(cloud, "catalog", "list")}
    assert {"identity", "object-store", "block-storage", "compute", "image", "network"} <= types

    # Images: the test guest's kernel and initramfs, and the bootable record naming both.
    _, made = upload_test_guest(cloud, tmp_path, "tour")
    image = made["image"]
    assert image["status"] == "active"

    # Project tour: a member and a reader.
    openstack(cloud, "project", "create", "tour")
    for user, role in (("dora", "member"), ("rita", "reader")):
        openstack(cloud, "user", "create", "--project", "tour", "--password", f"{user}-pw", user)
        openstack(cloud, "role", "add", "--project", "tour", "--user", user, role)
    dora, rita = os_env(cloud, "dora", "tour"), os_env(cloud, "rita", "tour")

    # A network with a DHCP subnet (the guest gets a lease and reaches the metadata service).
    net = osj(cloud, "network", "create", "tour-net")
    sub = osj(cloud, "subnet", "create", "--network", "tour-net",
              "--subnet-range", CIDR, "tour-sub")  # fmt: skip
    assert net["status"] == "ACTIVE" and sub["enable_dhcp"] is True

    # A volume, and one server: image, flavor, the network, user data, the volume in its
    # mapping (kept when the server goes).
    vol = osj(cloud, "volume", "create", "--size", "1", "tour-vol")
    wait_for(cloud, ["volume"], vol["id"], "available")
    script = tmp_path / "user-data.sh"
    script.write_text(GUEST_SCRIPT)
    server = osj(cloud, "server", "create", "--image", "tour-guest", "--flavor", "m1.small",
                 "--network", "tour-net", "--user-data", str(script),
                 "--security-group", "default",
                 "--block-device-mapping", f"vdb={vol['id']}:volume::false",
                 "--wait", "tour-vm")  # fmt: skip
    assert server["status"] == "ACTIVE"
    sid = server["id"]
    (pid,) = qemu_pids(cloud.data, sid)
    argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    assert argv[argv.index(b"-m") + 1] == b"512M" and argv[argv.index(b"-smp") + 1] == b"1"
    rows = mine(osj(cloud, "server", "list"))
    assert [(r["Name"], r["Status"], r["Image"]) for r in rows] == [
        ("tour-vm", "ACTIVE", "tour-guest")
    ]
    rows = mine(osj(cloud, "server", "list", "--long"))
    assert [(r["Name"], r["Status"], r["Image Name"], r["Flavor"]) for r in rows] == [
        ("tour-vm", "ACTIVE", "tour-guest", "m1.small")
    ]
    shown = osj(cloud, "server", "show", "tour-vm")
    address = shown["addresses"]["tour-net"][0]
    assert address.startswith("10.231.12."), address
    assert [v["id"] for v in shown["volumes_attached"]] == [vol["id"]]
    # The script came from the metadata service, and wrote the marker onto the volume.
    lines = console_lines(
        cloud, "tour-vm", {"T:UP": 1, MARK_METADATA: 1, "T:DISKS [vda ]": 1, "T:WROTE": 1}
    )
    wrote = next(line for line in lines if "T:WROTE" in line)
    assert wrote.endswith(f"T:WROTE {MARKER.decode()}")
    att = osj(cloud, "server", "volume", "list", "tour-vm")
    assert [(a["Volume ID"], a["Delete On Termination?"]) for a in att] == [(vol["id"], False)]

    # The volume out (the guest's write is in its file) and back in, while the guest runs.
    openstack(cloud, "server", "remove", "volume", "tour-vm", "tour-vol")
    console_lines(cloud, "tour-vm", {"T:DISKS []": 1})
    assert osj(cloud, "server", "volume", "list", "tour-vm") == []
    wait_for(cloud, ["volume"], vol["id"], "available")
    assert cloud.volume_file(vol["id"]).read_bytes()[: len(MARKER)] == MARKER
    openstack(cloud, "server", "add", "volume", "tour-vm", "tour-vol")
    wait_for(cloud, ["volume"], vol["id"], "in-use")
    lines = console_lines(cloud, "tour-vm", {"T:DISKS [vda ]": 2})
    assert sum("T:DISKS [vda ]" in line for line in lines) == 2
    assert osj(cloud, "volume", "show", vol["id"])["status"] == "in-use"

    # Another project does not see the server; a reader may not create one (with an image it
    # sees: the cloud admin makes the guest public).
    openstack(cloud, "image", "set", "--public", "tour-guest")
    assert osj(cloud, "image", "show", "tour-guest")["visibility"] == "public"
    hidden = openstack(cloud, "server", "show", sid, check=False, env=dora)
    assert hidden.returncode != 0 and "No Server found" in hidden.stderr, hidden.stderr
    assert osj(cloud, "server", "list", env=dora) == []
    refused = openstack(cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
                        "--nic", "none", "nope", check=False, env=rita)  # fmt: skip
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert "nope" not in {r["Name"] for r in osj(cloud, "server", "list", "--all-projects")}

    # Limits count what the project uses.
    limits = {r["Name"]: r["Value"] for r in osj(cloud, "limits", "show", "--absolute")}
    assert (limits["total_instances_used"], limits["total_ram_used"]) == (1, 512)

    # Power: stop, start (the guest boots again), reboot.
    openstack(cloud, "server", "stop", "tour-vm")
    wait_for(cloud, ["server"], "tour-vm", "SHUTOFF")
    assert qemu_pids(cloud.data, sid) == []
    openstack(cloud, "server", "start", "tour-vm")
    wait_for(cloud, ["server"], "tour-vm", "ACTIVE")
    console_lines(cloud, "tour-vm", {"T:UP": 2})
    openstack(cloud, "server", "reboot", "--wait", "tour-vm")
    wait_for(cloud, ["server"], "tour-vm", "ACTIVE")

    # openstacksdk sees the same cloud.
    seen = sdk(
        cloud,
        "s = conn.compute.find_server('tour-vm')\n"
        "print(json.dumps({'flavors': sorted(f.name for f in conn.compute.flavors()),\n"
        "  'server': [s.name, s.status, s.flavor.ram],\n"
        "  'attached': [a.volume_id for a in conn.compute.volume_attachments(s)],\n"
        "  'images': sorted(i.name for i in conn.image.images()),\n"
        "  'zones': [z.name for z in conn.compute.availability_zones()]}))\n",
    )
    assert "m1.tiny" in seen["flavors"] and seen["server"] == ["tour-vm", "ACTIVE", 512]
    assert seen["attached"] == [vol["id"]]
    assert [i for i in seen["images"] if i.startswith("tour-")] == [
        "tour-guest", "tour-initramfs", "tour-kernel",
    ]  # fmt: skip
    assert seen["zones"] == ["nova"]

    # Delete the server: the VM goes, the volume (delete_on_termination false) stays.
    openstack(cloud, "server", "delete", "--wait", "tour-vm")
    assert mine(osj(cloud, "server", "list")) == [] and qemu_pids(cloud.data, sid) == []
    assert osj(cloud, "volume", "show", vol["id"])["status"] == "available"

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
    wrong = os_env(cloud, "admin", "admin", password="wrong")
    out = openstack(cloud, "token", "issue", check=False, env=wrong)
    assert out.returncode != 0 and "401" in out.stderr, out.stderr
    out = openstack(cloud, "volume", "show", vol["id"], check=False, env=dora)
    assert out.returncode != 0, out.stdout
    assert re.search(rf"No [Vv]olume (found for |with a name or ID of '?){vol['id']}", out.stderr)
    out = openstack(cloud, "--debug", "volume", "show", vol["id"], check=False, env=dora)
    assert re.search(rf'"GET [^"]*/volumes/{vol["id"]} HTTP/1.1" 404', out.stderr), out.stderr
    out = openstack(cloud, "volume", "create", "--size", "1", "nope", check=False, env=rita)
    assert out.returncode != 0 and "403" in out.stderr, out.stderr
    assert "nope" not in {v["Name"] for v in osj(cloud, "volume", "list", "--all-projects")}

    # Delete everything.
    openstack(cloud, "object", "delete", "tour-photos", "cat.jpg")
    openstack(cloud, "container", "delete", "tour-photos")
    wait_for(cloud, ["volume", "backup"], backup["id"], "available")
    openstack(cloud, "volume", "backup", "delete", "tour-backup")
    openstack(cloud, "volume", "delete", "tour-clone", "tour-restored")
    openstack(cloud, "volume", "snapshot", "delete", "tour-snap")
    deadline = time.monotonic() + 60
    while mine(osj(cloud, "volume", "snapshot", "list")) and time.monotonic() < deadline:
        time.sleep(0.5)
    openstack(cloud, "volume", "delete", "tour-vol")
    deadline = time.monotonic() + 60
    while mine(osj(cloud, "volume", "list")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert mine(osj(cloud, "volume", "list")) == []
    assert mine(osj(cloud, "volume", "backup", "list")) == []
    openstack(cloud, "subnet", "delete", "tour-sub")
    openstack(cloud, "network", "delete", "tour-net")
    assert "tour-net" not in {n["Name"] for n in osj(cloud, "network", "list")}
    for name in ("tour-guest", "tour-initramfs", "tour-kernel"):
        openstack(cloud, "image", "delete", name)
    assert mine(osj(cloud, "image", "list")) == []
    assert "tour-photos" not in {c["Name"] for c in osj(cloud, "container", "list")}


SDK_TOUR = """
def mine(names):  # the cloud is shared: this test's own resources
    return sorted(n for n in names if n.startswith("sdk-"))
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
seen["volumes"] = mine(v.name for v in conn.block_storage.volumes())
seen["snapshots"] = mine(s.name for s in conn.block_storage.snapshots())
seen["backups"] = mine(b.name for b in conn.block_storage.backups())
conn.object_store.create_container("sdk-bucket")
conn.object_store.upload_object(container="sdk-bucket", name="o.txt", data=b"sdk object")
seen["object"] = conn.object_store.download_object("o.txt", container="sdk-bucket").decode()
seen["servers"] = mine(s.name for s in conn.compute.servers())
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
    "images": mine(i.name for i in conn.image.images()),
    "networks": mine(n.name for n in conn.network.networks()),
    "volumes": mine(v.name for v in conn.block_storage.volumes()),
    "containers": [c.name for c in conn.object_store.containers()],
}
print(json.dumps(seen))
"""


def test_the_openstacksdk_tour(cloud: Cloud) -> None:
    seen = sdk(cloud, SDK_TOUR, timeout=600)
    assert seen["image"] == "active"
    assert seen["subnets"] == ["10.231.13.0/24"]
    assert seen["volumes"] == ["sdk-vol"]
    assert (seen["snapshots"], seen["backups"]) == (["sdk-snap"], ["sdk-backup"])
    assert seen["object"] == "sdk object"
    assert seen["servers"] == [] and "m1.small" in seen["flavors"]
    left = seen["left"]
    assert (left["images"], left["networks"], left["volumes"]) == ([], [], [])
    assert "sdk-bucket" not in left["containers"]  # the services' own containers stay
