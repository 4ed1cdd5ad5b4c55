"""Disk images from tenants, checked before QEMU opens them (CVE-2022-47951, OSSA-2023-002).

A qcow2 or vmdk file can name other files: a backing file, an external data
file, vmdk extents. Given to QEMU as is, such an image makes QEMU read any
host file the service can read (the identity store, other tenants' volumes)
into the tenant's disk. So every image is checked as OpenStack does it, in
two independent passes, before anything opens it:

1. oslo.utils' format inspector (pure Python, no QEMU) finds the format from
   the bytes and runs its safety checks (no backing file, no data file, no
   unknown qcow2 features, vmdk only monolithicSparse/streamOptimized with
   plain extent names); the format must be the one the image declares.
2. ``qemu-img info -f FORMAT --output=json`` (never probing), under
   ``prlimit`` (address space 1 GiB, CPU 30 s) and a wall-clock timeout,
   must agree: same format, no backing file, no data file.

Both uploads (the image service, :class:`StreamInspector`) and every use (the
volume and compute services, :func:`inspect_file`) check; the users of an
image also open it with backing files disabled (:func:`json_filename`,
:func:`blockdev`), so a file that slipped through still cannot reach further.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oslo_utils.imageutils import format_inspector as fi

# Formats a raw (unformatted) disk may look like: a partitioned disk, an ISO.
RAW_LOOKALIKES = frozenset({"raw", "gpt", "iso"})
# Formats Stratus hands to QEMU as what they are.
OPENED_FORMATS = frozenset({"raw", "qcow2"})
QEMU_IMG_ADDRESS_SPACE = 1 << 30  # bytes: as oslo.utils / nova
QEMU_IMG_CPU_SECONDS = 30
QEMU_IMG_WALL_SECONDS = 60.0
SAFE_VMDK_TYPES = frozenset({"monolithicSparse", "streamOptimized"})


class UnsafeImage(ValueError):
    """The image is not what it says, names other files, or is too large."""


class ImageToolError(RuntimeError):
    """qemu-img (or prlimit) is missing: the check cannot be made, so nothing is opened."""


@dataclass(frozen=True)
class DiskInfo:
    """What the checks found: the format and the size the guest sees."""

    format: str
    virtual_size: int


def matches_declared(declared: str, detected: str) -> bool:
    """Whether content of format ``detected`` may be used as ``declared``."""
    if declared == "raw":
        return detected in RAW_LOOKALIKES
    return declared == detected


def _verdict(inspector: Any, declared: str, max_virtual_size: int | None) -> DiskInfo:
    name = str(inspector)
    if not matches_declared(declared, name):
        raise UnsafeImage(f"The image data is {name}, not the declared disk_format {declared}.")
    try:
        inspector.safety_check()
    except fi.SafetyCheckFailed as exc:
        reasons = "; ".join(f"{k}: {v}" for k, v in sorted(exc.failures.items()))
        raise UnsafeImage(f"The {name} image failed its safety checks ({reasons}).") from None
    except fi.ImageFormatError as exc:
        raise UnsafeImage(f"The {name} image cannot be checked: {exc}") from None
    size = int(inspector.virtual_size or 0)
    if max_virtual_size is not None and size > max_virtual_size:
        raise UnsafeImage(
            f"The image's virtual size ({size} bytes) exceeds the limit of "
            f"{max_virtual_size} bytes."
        )
    return DiskInfo(declared if declared == "raw" else name, size)


class StreamInspector:
    """The format inspector over a stream (an upload), fed chunk by chunk; no file needed."""

    class _Feed:
        chunk = b""

        def read(self, size: int) -> bytes:
            chunk, self.chunk = self.chunk, b""
            return chunk

    def __init__(self) -> None:
        self._feed = self._Feed()
        # InspectWrapper asks for an IO[bytes] but only calls read() (close() if it has one).
        self._wrapper = fi.InspectWrapper(self._feed)  # pyright: ignore[reportArgumentType]
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._feed.chunk = chunk
        self._wrapper.read(len(chunk))

    def verdict(self, declared: str, max_virtual_size: int | None = None) -> DiskInfo:
        """After the last chunk: the checked format and virtual size, or UnsafeImage."""
        self._wrapper.close()
        try:
            inspector = self._wrapper.format
        except fi.ImageFormatError as exc:
            raise UnsafeImage(f"The image data is ambiguous: {exc}") from None
        if inspector is None:
            raise UnsafeImage("The image data could not be recognised.")
        info = _verdict(inspector, declared, max_virtual_size)
        if info.format == "raw":  # raw: what the guest sees is every byte
            info = DiskInfo("raw", self.size)
            if max_virtual_size is not None and self.size > max_virtual_size:
                raise UnsafeImage(
                    f"The image's virtual size ({self.size} bytes) exceeds the limit of "
                    f"{max_virtual_size} bytes."
                )
        return info


def inspect_bytes_of(path: Path, declared: str, max_virtual_size: int | None) -> DiskInfo:
    """Pass 1 on a file (blocking: run it off the event loop); reads only what it needs."""
    try:
        inspector = fi.detect_file_format(str(path))
    except fi.ImageFormatError as exc:
        raise UnsafeImage(f"The image data is ambiguous: {exc}") from None
    if inspector is None:
        raise UnsafeImage("The image data could not be recognised.")
    info = _verdict(inspector, declared, max_virtual_size)
    if info.format == "raw":  # raw: what the guest sees is every byte
        size = path.stat().st_size
        if max_virtual_size is not None and size > max_virtual_size:
            raise UnsafeImage(
                f"The image's virtual size ({size} bytes) exceeds the limit of "
                f"{max_virtual_size} bytes."
            )
        info = DiskInfo("raw", size)
    return info


async def qemu_img_info(path: Path, fmt: str, qemu_img: str = "qemu-img") -> dict[str, Any]:
    """``qemu-img info`` of ``path`` read as ``fmt`` (no probing), time and memory bounded."""
    tool = shutil.which(qemu_img)
    prlimit = shutil.which("prlimit")
    if tool is None:
        raise ImageToolError("checking disk images needs qemu-img (Debian package qemu-utils)")
    if prlimit is None:
        raise ImageToolError("checking disk images needs prlimit (Debian package util-linux)")
    argv = [
        prlimit, f"--as={QEMU_IMG_ADDRESS_SPACE}", f"--cpu={QEMU_IMG_CPU_SECONDS}", "--",
        tool, "info", "-f", fmt, "--output=json", str(path),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(QEMU_IMG_WALL_SECONDS):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise UnsafeImage("qemu-img took too long to read the image.") from None
    if proc.returncode != 0:
        raise UnsafeImage(f"qemu-img cannot read the image: {err.decode(errors='replace')[:300]}")
    try:
        info = json.loads(out)
    except ValueError:
        raise UnsafeImage("qemu-img gave no readable answer about the image.") from None
    if not isinstance(info, dict):
        raise UnsafeImage("qemu-img gave no readable answer about the image.")
    return info


def check_qemu_info(info: dict[str, Any], fmt: str, max_virtual_size: int | None) -> int:
    """Pass 2's findings: refuse references to other files; the virtual size."""
    if info.get("format") != fmt:
        raise UnsafeImage(f"qemu-img reads the image as {info.get('format')}, not {fmt}.")
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise UnsafeImage("The image has a backing file.")
    specific = info.get("format-specific") or {}
    data = specific.get("data") or {}
    if data.get("data-file") or data.get("data-file-raw"):
        raise UnsafeImage("The image has an external data file.")
    if fmt == "vmdk":
        if data.get("create-type") not in SAFE_VMDK_TYPES:
            raise UnsafeImage(f"vmdk images of type {data.get('create-type')} are not accepted.")
        for extent in data.get("extents") or []:
            if extent.get("filename") != info.get("filename"):
                raise UnsafeImage("The vmdk image has extents in other files.")
    size = info.get("virtual-size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise UnsafeImage("qemu-img found no virtual size.")
    if max_virtual_size is not None and size > max_virtual_size:
        raise UnsafeImage(
            f"The image's virtual size ({size} bytes) exceeds the limit of "
            f"{max_virtual_size} bytes."
        )
    return size


async def inspect_file(
    path: Path,
    declared: str,
    *,
    max_virtual_size: int | None = None,
    qemu_img: str = "qemu-img",
) -> DiskInfo:
    """Both passes on a local file about to be opened as ``declared``; UnsafeImage if not safe."""
    if declared not in OPENED_FORMATS:
        raise UnsafeImage(f"Images of disk_format {declared} are not opened as disks.")
    found = await asyncio.to_thread(inspect_bytes_of, path, declared, max_virtual_size)
    info = await qemu_img_info(path, found.format, qemu_img)
    size = check_qemu_info(info, found.format, max_virtual_size)
    return DiskInfo(found.format, size)


def blockdev(path: Path, fmt: str, *, read_only: bool = True) -> dict[str, Any]:
    """A ``-blockdev`` node of the image with its own references switched off."""
    if fmt not in OPENED_FORMATS:
        raise UnsafeImage(f"Images of disk_format {fmt} are not opened as disks.")
    node: dict[str, Any] = {
        "driver": fmt,
        "read-only": read_only,
        "file": {"driver": "file", "filename": str(path), "read-only": read_only},
    }
    if fmt == "qcow2":
        node["backing"] = None
    return node


def json_filename(path: Path, fmt: str) -> str:
    """A ``json:`` filename for qemu-img: explicit driver, backing file disabled."""
    return "json:" + json.dumps(blockdev(path, fmt))
