"""`stratus image` as a user runs it (a subprocess) against a real image service."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path

from compute_glue.guest_image import BASE_CMDLINE, GuestImageError, build_test_guest
from tests.functional.compute_glue.conftest import ImageRig
from tests.helpers.tools import missing_tool


async def stratus(rig: ImageRig, *argv: str, user: str = "alpha:user") -> tuple[int, str, str]:
    project, name = user.split(":")
    rig.token(project, name)
    login = ["--url", rig.url, "--auth-url", f"{rig.cluster.url}/auth/v1.0", "--user", user]
    login += ["--key", rig.cluster.key(project, name)]
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "stratus"), "image", argv[0], *login, *argv[1:],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_build_test_guest_uploads_kernel_initramfs_and_boot_record(
    images: ImageRig, tmp_path: Path
) -> None:
    try:
        guest = build_test_guest(tmp_path / "cache")
    except GuestImageError as exc:
        missing_tool(str(exc))
    code, out, err = await stratus(
        images, "build-test-guest", "--cache-dir", str(tmp_path / "cache"), "--json"
    )
    assert code == 0, err
    made = json.loads(out)
    boot = made["image"]
    assert boot["status"] == "active" and boot["os_command_line"] == BASE_CMDLINE
    assert (boot["kernel_id"], boot["ramdisk_id"]) == (made["kernel"], made["ramdisk"])
    code, out, err = await stratus(images, "show", made["ramdisk"], "--json")
    assert code == 0, err
    ramdisk = json.loads(out)
    assert ramdisk["disk_format"] == ramdisk["container_format"] == "ari"
    assert ramdisk["checksum"] == hashlib.md5(guest.initramfs.read_bytes()).hexdigest()
    dest = tmp_path / "kernel"
    code, _, err = await stratus(images, "download", made["kernel"], str(dest))
    assert code == 0, err
    assert dest.read_bytes() == guest.kernel.read_bytes()

    code, out, _ = await stratus(images, "list")
    assert "stratus-test-guest-kernel" in out and "stratus-test-guest " in out + " "
    # Names resolve when unique; another project sees none of it.
    code, out, _ = await stratus(images, "list", "--json", user="beta:user")
    assert code == 0 and json.loads(out) == []
    code, _, err = await stratus(images, "delete", "stratus-test-guest")
    assert code == 0, err
    code, _, err = await stratus(images, "show", boot["id"])
    assert code == 1 and f"image {boot['id']!r} not found in project alpha (as alpha:user)" in err
