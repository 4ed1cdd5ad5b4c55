"""What a server boots from: image files cached on this host, its root disk, its command line.

Kernels, ramdisks and disk images are downloaded once per image (and
checksum) into the compute cache through the image API, checked against
their MD5 on the way. A disk image becomes a qcow2 overlay per server, so
the cached image is never written. A direct-kernel boot gets the image's
``os_command_line``, one ``stratus.net<N>=`` per port (static addresses the
test guest's /init applies) and the server's ``user_data`` as the guest
script (``stratus.cmd=``, base64 as Nova receives it).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compute_glue.errors import BadRequest
from compute_glue.guest_image import CMD_PARAM, MAX_CMD_PARAM, net_param

COMMAND_LINE_SIZE = 2048  # x86's limit, terminating NUL included
DEFAULT_CMDLINE = "console=ttyS0"


@dataclass
class BootFiles:
    kernel: Path | None = None
    initrd: Path | None = None
    disk: Path | None = None  # the cached image, when the image has a disk
    disk_format: str = "raw"
    cmdline: str = DEFAULT_CMDLINE


def check_user_data(value: Any) -> str | None:
    """Nova's user_data: base64 text. It travels on the kernel command line, so it is short."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CMD_PARAM - len(CMD_PARAM) - 1:
        raise BadRequest(
            f"user_data must be base64 text of at most {MAX_CMD_PARAM - len(CMD_PARAM) - 1} "
            "characters: it is handed to the guest on the kernel command line.",
            kind="badRequest",
        )
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("user_data is not valid base64.", kind="badRequest") from None
    return value


def kernel_cmdline(
    base: str | None,
    nics: Sequence[tuple[str, str, str | None]],
    user_data: str | None,
) -> str:
    """The -append line: the image's line, the NICs' addresses, the guest script."""
    parts = [base or DEFAULT_CMDLINE]
    for i, (mac, address, gateway) in enumerate(nics):
        parts.append(net_param(i, mac, address, gateway if i == 0 else None))
    if user_data:
        parts.append(f"{CMD_PARAM}={user_data}")
    line = " ".join(parts)
    if len(line) >= COMMAND_LINE_SIZE:
        raise BadRequest(
            f"The kernel command line would be {len(line)} bytes; the limit is "
            f"{COMMAND_LINE_SIZE - 1} (user_data is carried on it).",
            kind="badRequest",
        )
    return line


class ImageCache:
    """Image files downloaded once into ``root``, one lock per image."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    async def file(self, client: Any, image: dict[str, Any]) -> Path:
        """The cached bytes of an active image (downloaded when missing)."""
        if image.get("status") != "active":
            raise BadRequest(f"Image {image['id']} is not active.", kind="badRequest")
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{image['id']}-{image.get('checksum') or 'none'}"
        lock = self._locks.setdefault(image["id"], asyncio.Lock())
        async with lock:
            if not path.exists():
                await client.download(image["id"], path)
        return path

    async def boot_files(self, client: Any, image: dict[str, Any]) -> BootFiles:
        """Kernel and ramdisk (for ``kernel_id``/``ramdisk_id``) and disk of an image."""
        files = BootFiles(cmdline=image.get("os_command_line") or DEFAULT_CMDLINE)
        if image.get("disk_format") in ("aki", "ari"):
            raise BadRequest(
                "A kernel or ramdisk image cannot be booted by itself.", kind="badRequest"
            )
        if image.get("kernel_id"):
            files.kernel = await self.file(client, await client.get(image["kernel_id"]))
        if image.get("ramdisk_id"):
            files.initrd = await self.file(client, await client.get(image["ramdisk_id"]))
        if image.get("size"):
            files.disk = await self.file(client, image)
            files.disk_format = image.get("disk_format") or "raw"
        if files.kernel is None and files.disk is None:
            raise BadRequest(
                f"Image {image['id']} has neither a kernel nor a disk.", kind="badRequest"
            )
        return files


async def make_overlay(qemu_img: str, base: Path, base_format: str, dest: Path) -> None:
    """A qcow2 file that reads ``base`` and keeps the server's own writes."""
    proc = await asyncio.create_subprocess_exec(
        qemu_img,
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        base_format,
        "-b",
        str(base),
        str(dest),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"qemu-img create failed: {err.decode(errors='replace')[:300]}")
