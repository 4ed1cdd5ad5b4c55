"""The unmodified `openstack` CLI and openstacksdk on Stratus's compute (Nova) and image (Glance).

Against a real `stratus up`, with the clouds.yaml it writes: upload the test
guest with `openstack image create --file`, list/show/save it, make it public
(the cloud admin may; a project member may not), boot ONE server under TCG
with an image, a flavor, a network, user data and a volume in its block
device mapping, then list/show it, read its console, move the volume out and
back in, stop/start/reboot it, read it through openstacksdk, and delete it;
another project sees no server and a reader may not create one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compute_glue.guest_image import BASE_CMDLINE
from tests.e2e.cloud import ROOT, Cloud
from tests.e2e.compute_glue.test_vms_share_a_volume import interfaces, qemu_pids
from tests.helpers.qemu import guest_image
from tests.helpers.tools import missing_tool, need_tool

OPENSTACK = str(Path(sys.executable).parent / "openstack")
CIDR = "10.231.11.0/24"
GUEST_SCRIPT = """echo "T:UP"
last=x
while true; do
  now=$(ls /dev | grep '^vd' | tr '\\n' ' ')
  if [ "$now" != "$last" ]; then echo "T:DISKS [$now]"; last="$now"; fi
  sleep 0.5
done
"""

# About 70 CLI runs (each a fresh Python with keystoneauth's discovery) and one TCG guest.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    if os.geteuid() != 0:
        missing_tool("root (CAP_NET_ADMIN) is needed to make bridges and taps")
    need_tool("qemu-system-x86_64", "qemu-system-x86")
    if not Path("/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so").exists():
        missing_tool("QEMU's iSCSI driver (Debian package qemu-block-extra) is not installed")
    c = Cloud(tmp_path)
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
    """The admin through clouds.yaml, or ``user`` of project demo through OS_* variables."""
    env = {k: v for k, v in cloud.env.items() if not k.startswith("OS_")}
    env["PYTHONWARNINGS"] = "ignore"
    if user is None:
        env.update(OS_CLOUD="stratus", OS_CLIENT_CONFIG_FILE=str(cloud.data / "clouds.yaml"))
        return env
    env.update(
        OS_AUTH_URL=f"http://127.0.0.1:{cloud.env['STRATUS_IDENTITY_PORT']}/v3",
        OS_USERNAME=user,
        OS_PASSWORD=password,
        OS_PROJECT_NAME="demo",
        OS_USER_DOMAIN_NAME="Default",
        OS_PROJECT_DOMAIN_NAME="Default",
        OS_IDENTITY_API_VERSION="3",
    )
    return env


def openstack(
    cloud: Cloud, *args: str, check: bool = True, user: str | None = None
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [OPENSTACK, *args],
        cwd=ROOT,
        env=os_env(cloud, user, f"{user}-pw"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    if check:
        assert out.returncode == 0, f"openstack {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out


def osj(cloud: Cloud, *args: str, user: str | None = None) -> Any:
    return json.loads(openstack(cloud, *args, "-f", "json", user=user).stdout)


def wait_status(cloud: Cloud, server: str, status: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        shown = osj(cloud, "server", "show", server)
        if shown["status"] == status and shown.get("OS-EXT-STS:task_state") is None:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{server} is {shown['status']}, not {status}: {shown}")
        time.sleep(1.0)


def console_lines(cloud: Cloud, server: str, marker: str, count: int = 1, timeout: float = 120):
    """The console's lines holding ``marker``, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        text = openstack(cloud, "console", "log", "show", server).stdout
        hits = [line.strip() for line in text.splitlines() if marker in line]
        if len(hits) >= count:
            return hits
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count}x {marker!r} on {server}'s console:\n{text[-3000:]}")
        time.sleep(1.0)


def sdk(cloud: Cloud, script: str) -> Any:
    """Run ``script`` with ``conn`` (openstacksdk, the stratus cloud); the JSON it prints last."""
    code = "import json, openstack\nconn = openstack.connect(cloud='stratus')\n" + script
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=os_env(cloud),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_openstack_cli_boots_a_server_from_its_own_image(cloud: Cloud, tmp_path: Path) -> None:
    # Endpoints advertise their versions as Nova and Glance do.
    versions = osj(cloud, "versions", "show", "--service", "compute", "--status", "CURRENT")
    nova = next(v for v in versions if v["Version"] == "2.1")
    assert (nova["Min Microversion"], nova["Max Microversion"]) == ("2.1", "2.79")
    glance = osj(cloud, "versions", "show", "--service", "image", "--status", "CURRENT")
    assert [v["Version"] for v in glance] == ["2.9"]

    # Images from files: the guest's kernel, initramfs and the bootable record naming both.
    guest = guest_image(tmp_path / "guest")
    kernel = osj(cloud, "image", "create", "--file", str(guest.kernel), "--disk-format", "aki",
                 "--container-format", "aki", "os-kernel")  # fmt: skip
    ramdisk = osj(cloud, "image", "create", "--file", str(guest.initramfs),
                  "--disk-format", "ari", "--container-format", "ari", "os-initramfs")  # fmt: skip
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    image = osj(cloud, "image", "create", "--file", str(empty), "--disk-format", "raw",
                "--container-format", "bare", "--property", f"kernel_id={kernel['id']}",
                "--property", f"ramdisk_id={ramdisk['id']}",
                "--property", f"os_command_line={BASE_CMDLINE}", "os-guest")  # fmt: skip
    assert image["status"] == "active"
    assert kernel["size"] == guest.kernel.stat().st_size
    listed = {i["Name"]: i["Status"] for i in osj(cloud, "image", "list")}
    assert listed == {"os-kernel": "active", "os-initramfs": "active", "os-guest": "active"}
    shown = osj(cloud, "image", "show", "os-initramfs")
    assert (shown["disk_format"], shown["container_format"]) == ("ari", "ari")
    saved = tmp_path / "initramfs.back"
    openstack(cloud, "image", "save", "--file", str(saved), "os-initramfs")
    assert saved.read_bytes() == guest.initramfs.read_bytes()
    openstack(cloud, "image", "set", "--public", "os-guest")  # the cloud admin may
    assert osj(cloud, "image", "show", "os-guest")["visibility"] == "public"

    # Project demo: a member and a reader.
    openstack(cloud, "project", "create", "demo")
    for user, role in (("dora", "member"), ("rita", "reader")):
        openstack(cloud, "user", "create", "--project", "demo", "--password", f"{user}-pw", user)
        openstack(cloud, "role", "add", "--project", "demo", "--user", user, role)
    mine = osj(cloud, "image", "create", "--disk-format", "raw", "--container-format", "bare",
               "dora-image", user="dora")  # fmt: skip
    refused = openstack(cloud, "image", "set", "--public", mine["id"], check=False, user="dora")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert osj(cloud, "image", "show", mine["id"], user="dora")["visibility"] == "private"
    openstack(cloud, "image", "delete", mine["id"], user="dora")

    # Flavors: the default set, with real sizes.
    flavors = {f["Name"]: f for f in osj(cloud, "flavor", "list")}
    assert {"m1.tiny", "m1.small", "m1.medium"} <= set(flavors)
    assert (flavors["m1.small"]["RAM"], flavors["m1.small"]["VCPUs"]) == (512, 1)
    assert osj(cloud, "flavor", "show", "m1.medium")["vcpus"] == 2
    zones = osj(cloud, "availability", "zone", "list", "--compute")
    assert [z["Zone Name"] for z in zones] == ["nova"]

    # One server: image, flavor, a network by id, user data, a volume in its mapping.
    net = cloud.cli("network", "create", "private", "--cidr", CIDR)["network"]
    vol = cloud.volume("create", "1", "--name", "data")
    script = tmp_path / "guest.sh"
    script.write_text(GUEST_SCRIPT)
    server = osj(cloud, "server", "create", "--image", "os-guest", "--flavor", "m1.small",
                 "--nic", f"net-id={net['id']}", "--user-data", str(script),
                 "--security-group", "default",
                 "--block-device-mapping", f"vdb={vol['id']}:volume::false",
                 "--wait", "os-vm")  # fmt: skip
    assert server["status"] == "ACTIVE"
    sid = server["id"]
    (pid,) = qemu_pids(cloud.data)
    argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    assert argv[argv.index(b"-m") + 1] == b"512M" and argv[argv.index(b"-smp") + 1] == b"1"
    rows = osj(cloud, "server", "list", "--long")
    assert [(r["Name"], r["Status"], r["Image Name"], r["Flavor"]) for r in rows] == [
        ("os-vm", "ACTIVE", "os-guest", "m1.small")
    ]
    shown = osj(cloud, "server", "show", "os-vm")
    assert shown["addresses"]["private"][0].startswith("10.231.11.")
    assert [v["id"] for v in shown["volumes_attached"]] == [vol["id"]]
    console_lines(cloud, "os-vm", "T:DISKS [vda ]")
    att = osj(cloud, "server", "volume", "list", "os-vm")
    assert [(a["Volume ID"], a["Delete On Termination?"]) for a in att] == [(vol["id"], False)]

    # The volume out and back in, while the guest runs.
    openstack(cloud, "server", "remove", "volume", "os-vm", vol["id"])
    console_lines(cloud, "os-vm", "T:DISKS []")
    assert osj(cloud, "server", "volume", "list", "os-vm") == []
    assert cloud.volume("show", vol["id"])["status"] == "available"
    openstack(cloud, "server", "add", "volume", "os-vm", vol["id"])
    assert len(console_lines(cloud, "os-vm", "T:DISKS [vda ]", count=2)) == 2
    assert cloud.volume("show", vol["id"])["status"] == "in-use"

    # Another project does not see the server; a reader may not create one.
    hidden = openstack(cloud, "server", "show", sid, check=False, user="dora")
    assert hidden.returncode != 0 and "No Server found" in hidden.stderr, hidden.stderr
    assert osj(cloud, "server", "list", user="dora") == []
    refused = openstack(cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
                        "--nic", "none", "nope", check=False, user="rita")  # fmt: skip
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert "nope" not in {r["Name"] for r in osj(cloud, "server", "list", "--all-projects")}
    keypair = openstack(cloud, "keypair", "create", "k", check=False)
    assert keypair.returncode != 0 and "Key pairs are not supported" in keypair.stderr

    # Limits count what the project uses.
    limits = {r["Name"]: r["Value"] for r in osj(cloud, "limits", "show", "--absolute")}
    assert (limits["total_instances_used"], limits["total_ram_used"]) == (1, 512)

    # Power: stop, start (the guest boots again), reboot.
    openstack(cloud, "server", "stop", "os-vm")
    wait_status(cloud, "os-vm", "SHUTOFF")
    assert qemu_pids(cloud.data) == []
    openstack(cloud, "server", "start", "os-vm")
    wait_status(cloud, "os-vm", "ACTIVE")
    console_lines(cloud, "os-vm", "T:UP", count=2)
    openstack(cloud, "server", "reboot", "--wait", "os-vm")
    wait_status(cloud, "os-vm", "ACTIVE")

    # openstacksdk sees the same cloud.
    seen = sdk(
        cloud,
        "s = conn.compute.find_server('os-vm')\n"
        "print(json.dumps({'flavors': sorted(f.name for f in conn.compute.flavors()),\n"
        "  'server': [s.name, s.status, s.flavor.ram],\n"
        "  'attached': [a.volume_id for a in conn.compute.volume_attachments(s)],\n"
        "  'images': sorted(i.name for i in conn.image.images()),\n"
        "  'zones': [z.name for z in conn.compute.availability_zones()]}))\n",
    )
    assert "m1.tiny" in seen["flavors"] and seen["server"] == ["os-vm", "ACTIVE", 512]
    assert seen["attached"] == [vol["id"]]
    assert seen["images"] == ["os-guest", "os-initramfs", "os-kernel"]
    assert seen["zones"] == ["nova"]

    # Delete: the VM goes, the volume (delete_on_termination false) stays.
    openstack(cloud, "server", "delete", "--wait", "os-vm")
    assert osj(cloud, "server", "list") == []
    assert qemu_pids(cloud.data) == []
    assert cloud.volume("show", vol["id"])["status"] == "available"
    cloud.volume("delete", vol["id"])
    cloud.cli("network", "delete", "private")
    for name in ("os-guest", "os-initramfs", "os-kernel"):
        openstack(cloud, "image", "delete", name)
    assert osj(cloud, "image", "list") == []
