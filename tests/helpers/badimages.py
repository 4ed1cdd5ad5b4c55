"""Disk images that name host files (CVE-2022-47951 style), made with the real qemu-img.

``HostSecret`` is a file on the host that a tenant must never read; every
attack image below points QEMU at it in another way. ``seen_anywhere`` tells
whether its bytes turned up in any file under a directory (volumes, caches,
instance directories).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.tools import need_tool

MiB = 1024 * 1024


@dataclass
class HostSecret:
    path: Path
    marker: bytes

    @classmethod
    def make(cls, directory: Path) -> HostSecret:
        directory.mkdir(parents=True, exist_ok=True)
        marker = b"HOST-SECRET-" + os.urandom(8).hex().encode()
        path = directory / "host-secret.bin"
        path.write_bytes((marker + b"\n") * (MiB // (len(marker) + 1)) + bytes(MiB))
        return cls(path, marker)

    def seen_anywhere(self, root: Path) -> list[Path]:
        """Files under ``root`` (other than the secret) that hold the marker."""
        found = []
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                p = Path(dirpath) / name
                if p == self.path or p.is_symlink() or not p.is_file():
                    continue
                try:
                    with p.open("rb") as f:
                        while chunk := f.read(4 * MiB):
                            if self.marker in chunk:
                                found.append(p)
                                break
                except OSError:
                    continue
        return found


def _qemu_img(*args: str) -> None:
    tool = need_tool("qemu-img", "qemu-utils")
    subprocess.run([tool, *args], check=True, capture_output=True, timeout=60)


def qcow2_with_backing(
    directory: Path, target: Path, fmt: str = "raw", name: str = "backing.qcow2"
) -> Path:
    """A qcow2 whose backing file is ``target``: reading the image reads the host file."""
    out = directory / name
    _qemu_img("create", "-q", "-f", "qcow2", "-F", fmt, "-b", str(target), str(out), "2M")
    return out


def qcow2_with_data_file(directory: Path, target: Path) -> Path:
    """A qcow2 whose guest data lives in ``target`` (an external raw data file)."""
    out = directory / "datafile.qcow2"
    decoy = directory / "decoy.raw"  # qemu-img create writes the data file: not the target
    _qemu_img("create", "-q", "-f", "qcow2", "-o",
              f"data_file={decoy},data_file_raw=on", str(out), "2M")  # fmt: skip
    _qemu_img("amend", "-q", "-f", "qcow2", "-o", f"data_file={target}", str(out))
    decoy.unlink(missing_ok=True)
    return out


def vmdk_descriptor(directory: Path, target: Path) -> Path:
    """A text vmdk descriptor whose flat extent is ``target``."""
    out = directory / "desc.vmdk"
    sectors = target.stat().st_size // 512
    out.write_text(
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=fffffffe\n"
        "parentCID=ffffffff\n"
        'createType="monolithicFlat"\n\n'
        f'RW {sectors} FLAT "{target}" 0\n'
    )
    return out


def plain_qcow2(directory: Path, content: bytes, name: str = "plain.qcow2") -> Path:
    """A well-formed qcow2 holding ``content`` at offset 0 (of a 2 MiB disk)."""
    raw = directory / f"{name}.raw"
    raw.write_bytes(content + bytes(2 * MiB - len(content)))
    out = directory / name
    _qemu_img("convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(out))
    raw.unlink()
    return out


def huge_qcow2(directory: Path, size: str = "8T") -> Path:
    """A tiny file that claims a huge virtual size."""
    out = directory / "huge.qcow2"
    _qemu_img("create", "-q", "-f", "qcow2", str(out), size)
    return out
