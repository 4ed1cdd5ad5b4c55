"""Upload the tiny test guest as Glance images: kernel (aki), initramfs (ari), bootable record.

The bootable record has no bytes of its own (size 0): servers boot its
kernel and initramfs directly, with its ``os_command_line``, and the guest
lives in RAM, so the first volume attached to it is ``/dev/vda``.
"""

from __future__ import annotations

from typing import Any

from compute_glue.guest_image import BASE_CMDLINE, GuestImage


async def upload_test_guest(
    client: Any, guest: GuestImage, name: str = "stratus-test-guest", *, public: bool = False
) -> dict[str, Any]:
    """Create and upload the three images through an ImageClient; the bootable one."""
    vis = {"visibility": "public"} if public else {}
    kernel = await client.create(
        name=f"{name}-kernel", disk_format="aki", container_format="aki", **vis
    )
    await client.upload(kernel["id"], guest.kernel)
    ramdisk = await client.create(
        name=f"{name}-initramfs", disk_format="ari", container_format="ari", **vis
    )
    await client.upload(ramdisk["id"], guest.initramfs)
    boot = await client.create(
        name=name,
        disk_format="raw",
        container_format="bare",
        kernel_id=kernel["id"],
        ramdisk_id=ramdisk["id"],
        os_command_line=BASE_CMDLINE,
        kernel_version=guest.kernel_version,
        **vis,
    )
    await client.upload(boot["id"], b"")
    return await client.get(boot["id"])
