"""What a server boots from: image files cached on this host, its root disk, its command line.

Kernels, ramdisks and disk images are downloaded once per image (and
checksum) into the compute cache through the image API, checked against
their MD5 on the way. A disk image is inspected before any QEMU tool opens
it (:func:`stratus.diskimage.inspect_file`: its declared format, no backing
or data file, virtual size within ``image.max_virtual_size_gb``), then
becomes a qcow2 overlay per server, so the cached image is never written;
QEMU gets the image as the overlay's backing node with its own backing
disabled (:func:`stratus.diskimage.blockdev`). A direct-kernel boot gets the
image's ``os_command_line`` and one ``stratus.net<N>=`` per port (static
addresses for the guest's boot code); the server's ``user_data`` (base64
as Nova receives it) is handed over in a file readable only by the service,
as QEMU firmware configuration (``opt/io.stratus/user_data``), never on a
command line that ``ps`` shows. Both names are
:mod:`compute_glue.servers.guestconfig`'s.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compute_glue.errors import BadRequest
from compute_glue.servers.guestconfig import USER_DATA_FW_CFG, net_param
from stratus import diskimage

COMMAND_LINE_SIZE = 2048  # x86's limit, terminating NUL included
DEFAULT_CMDLINE = "console=ttyS0"


@dataclass
class BootFiles:
    kernel: Path | None = None
    initrd: Path | None = None
    disk: Path | None = None  # the cached image, when the image has a disk
    disk_format: str = "raw"
    disk_size: int = 0  # the disk's virtual size, as the inspection found it
    cmdline: str = DEFAULT_CMDLINE


def kernel_cmdline(base: str | None, nics: Sequence[tuple[str, str, str | None]]) -> str:
    """The -append line: the image's line and the NICs' addresses (never user_data)."""
    parts = [base or DEFAULT_CMDLINE]
    for i, (mac, address, gateway) in enumerate(nics):
        parts.append(net_param(i, mac, address, gateway if i == 0 else None))
    line = " ".join(parts)
    if len(line) >= COMMAND_LINE_SIZE:
        raise BadRequest(
            f"The kernel command line would be {len(line)} bytes; the limit is "
            f"{COMMAND_LINE_SIZE - 1}.",
            kind="badRequest",
        )
    return line


def write_user_data(directory: Path, user_data: str) -> tuple[str, Path]:
    """The server's user_data in a 0600 file of its private directory; (fw_cfg name, path).

    A file, not ``string=``: QEMU's command line is readable by every local user.
    """
    path = directory / "user_data"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(user_data)
    return USER_DATA_FW_CFG, path


class ImageCache:
    """Image files downloaded once into ``root``, one lock per image."""

    def __init__(
        self, root: Path, *, max_virtual_size: int | None = None, qemu_img: str = "qemu-img"
    ) -> None:
        self.root = root
        self.max_virtual_size = max_virtual_size
        self.qemu_img = qemu_img
        self._locks: dict[str, asyncio.Lock] = {}

    async def file(self, client: Any, image: dict[str, Any]) -> Path:
        """The cached bytes of an active image (downloaded when missing)."""
        if image.get("status") != "active":
            raise BadRequest(f"Image {image['id']} is not active.", kind="badRequest")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
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
            files.disk_size = await self.inspect(files.disk, files.disk_format)
        if files.kernel is None and files.disk is None:
            raise BadRequest(
                f"Image {image['id']} has neither a kernel nor a disk.", kind="badRequest"
            )
        return files

    async def inspect(self, path: Path, disk_format: str) -> int:
        """Check a cached disk image before anything opens it; its virtual size."""
        try:
            info = await diskimage.inspect_file(
                path, disk_format, max_virtual_size=self.max_virtual_size, qemu_img=self.qemu_img
            )
        except diskimage.UnsafeImage as exc:
            raise BadRequest(f"The image cannot be used: {exc}", kind="badRequest") from None
        return info.virtual_size


async def make_overlay(qemu_img: str, base: Path, base_format: str, size: int, dest: Path) -> None:
    """A qcow2 file that reads ``base`` and keeps the server's own writes.

    ``-u`` with the inspected size: qemu-img does not open ``base`` at all.
    """
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
        "-u",
        str(dest),
        str(size),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"qemu-img create failed: {err.decode(errors='replace')[:300]}")
