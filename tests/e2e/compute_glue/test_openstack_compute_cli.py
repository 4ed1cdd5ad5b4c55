"""The unmodified `openstack` CLI on Stratus's compute (Nova) and image (Glance) APIs, no VM.

Against the shared `stratus up`, with the clouds.yaml it writes: the endpoints'
version documents; the test guest uploaded with `openstack image create --file`,
listed, shown, saved and made public (the cloud admin may; a project member may
not); the flavors and zones; key pairs refused. The server itself (booted from
such images with a flavor, a network, user data and a volume, then moved through
its life) is in the OpenStack tour (tests/e2e/stratus/cli/test_openstack_tour.py),
which boots the one VM both would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cloud import Cloud, openstack, os_env, osj, upload_test_guest

# About 25 CLI runs (each a fresh Python with keystoneauth's discovery).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def cloud(shared_cloud: Cloud) -> Cloud:
    return shared_cloud


def test_openstack_cli_images_flavors_and_versions(cloud: Cloud, tmp_path: Path) -> None:
    # Endpoints advertise their versions as Nova and Glance do.
    versions = osj(cloud, "versions", "show", "--service", "compute", "--status", "CURRENT")
    nova = next(v for v in versions if v["Version"] == "2.1")
    assert (nova["Min Microversion"], nova["Max Microversion"]) == ("2.1", "2.79")
    glance = osj(cloud, "versions", "show", "--service", "image", "--status", "CURRENT")
    assert [v["Version"] for v in glance] == ["2.9"]

    # Images from files: the guest's kernel, initramfs and the bootable record naming both.
    guest, made = upload_test_guest(cloud, tmp_path, "os")
    assert made["image"]["status"] == "active"
    assert made["kernel"]["size"] == guest.kernel.stat().st_size
    # The cloud is shared: this test's own images (os-*) are the ones it looks at.
    listed = {i["Name"]: i["Status"] for i in osj(cloud, "image", "list")}
    mine = {name: status for name, status in listed.items() if name.startswith("os-")}
    assert mine == {"os-kernel": "active", "os-initramfs": "active", "os-guest": "active"}
    shown = osj(cloud, "image", "show", "os-initramfs")
    assert (shown["disk_format"], shown["container_format"]) == ("ari", "ari")
    saved = tmp_path / "initramfs.back"
    openstack(cloud, "image", "save", "--file", str(saved), "os-initramfs")
    assert saved.read_bytes() == guest.initramfs.read_bytes()
    openstack(cloud, "image", "set", "--public", "os-guest")  # the cloud admin may
    assert osj(cloud, "image", "show", "os-guest")["visibility"] == "public"

    # Project demo: a member may not make an image public.
    openstack(cloud, "project", "create", "demo")
    openstack(cloud, "user", "create", "--project", "demo", "--password", "dana-pw", "dana")
    openstack(cloud, "role", "add", "--project", "demo", "--user", "dana", "member")
    dana = os_env(cloud, "dana", "demo")
    made = osj(cloud, "image", "create", "--disk-format", "raw", "--container-format", "bare",
               "dana-image", env=dana)  # fmt: skip
    refused = openstack(cloud, "image", "set", "--public", made["id"], check=False, env=dana)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert osj(cloud, "image", "show", made["id"], env=dana)["visibility"] == "private"
    openstack(cloud, "image", "delete", made["id"], env=dana)

    # Flavors: the default set, with real sizes.
    flavors = {f["Name"]: f for f in osj(cloud, "flavor", "list")}
    assert {"m1.tiny", "m1.small", "m1.medium"} <= set(flavors)
    assert (flavors["m1.small"]["RAM"], flavors["m1.small"]["VCPUs"]) == (512, 1)
    assert osj(cloud, "flavor", "show", "m1.medium")["vcpus"] == 2
    zones = osj(cloud, "availability", "zone", "list", "--compute")
    assert [z["Zone Name"] for z in zones] == ["nova"]
    keypair = openstack(cloud, "keypair", "create", "k", check=False)
    assert keypair.returncode != 0 and "Key pairs are not supported" in keypair.stderr

    for name in ("os-guest", "os-initramfs", "os-kernel"):
        openstack(cloud, "image", "delete", name)
    assert [i for i in osj(cloud, "image", "list") if i["Name"].startswith("os-")] == []
