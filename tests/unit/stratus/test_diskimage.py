"""The disk image checks: each pass alone refuses images that name other files."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus import diskimage
from tests.helpers import badimages
from tests.helpers.badimages import HostSecret


@pytest.fixture
def secret(tmp_path: Path) -> HostSecret:
    return HostSecret.make(tmp_path / "host")


def test_the_format_inspector_alone_refuses_references(tmp_path: Path, secret: HostSecret) -> None:
    for declared, path in (
        ("qcow2", badimages.qcow2_with_backing(tmp_path, secret.path)),
        ("qcow2", badimages.qcow2_with_data_file(tmp_path, secret.path)),
        ("raw", badimages.vmdk_descriptor(tmp_path, secret.path)),
        ("raw", badimages.plain_qcow2(tmp_path, b"x")),
        ("qcow2", secret.path),  # raw data declared qcow2
    ):
        with pytest.raises(diskimage.UnsafeImage):
            diskimage.inspect_bytes_of(path, declared, None)
    info = diskimage.inspect_bytes_of(
        badimages.plain_qcow2(tmp_path, b"ok", "ok.qcow2"), "qcow2", None
    )
    assert info == diskimage.DiskInfo("qcow2", 2 * 1024 * 1024)
    with pytest.raises(diskimage.UnsafeImage, match="exceeds"):
        diskimage.inspect_bytes_of(badimages.huge_qcow2(tmp_path), "qcow2", 1 << 40)


async def test_qemu_img_info_alone_refuses_references(tmp_path: Path, secret: HostSecret) -> None:
    for fmt, path in (
        ("qcow2", badimages.qcow2_with_backing(tmp_path, secret.path)),
        ("qcow2", badimages.qcow2_with_data_file(tmp_path, secret.path)),
        ("vmdk", badimages.vmdk_descriptor(tmp_path, secret.path)),
    ):
        info = await diskimage.qemu_img_info(path, fmt)
        with pytest.raises(diskimage.UnsafeImage):
            diskimage.check_qemu_info(info, fmt, None)
    with pytest.raises(diskimage.UnsafeImage):  # -f given: qemu-img does not probe
        await diskimage.qemu_img_info(secret.path, "qcow2")
    info = await diskimage.qemu_img_info(badimages.plain_qcow2(tmp_path, b"ok"), "qcow2")
    assert diskimage.check_qemu_info(info, "qcow2", None) == 2 * 1024 * 1024


def test_empty_and_raw_streams() -> None:
    stream = diskimage.StreamInspector()
    assert stream.verdict("raw") == diskimage.DiskInfo("raw", 0)
    stream = diskimage.StreamInspector()
    stream.feed(b"\1" * 5000)
    assert stream.verdict("raw", 10_000) == diskimage.DiskInfo("raw", 5000)
    stream = diskimage.StreamInspector()
    stream.feed(b"\1" * 5000)
    with pytest.raises(diskimage.UnsafeImage):
        stream.verdict("raw", 4000)


def test_blockdev_disables_backing(tmp_path: Path) -> None:
    node = diskimage.blockdev(tmp_path / "i", "qcow2")
    assert node["backing"] is None and node["driver"] == "qcow2"
    assert "backing" not in diskimage.blockdev(tmp_path / "i", "raw")
    assert diskimage.json_filename(tmp_path / "i", "qcow2").startswith('json:{"driver": "qcow2"')
    with pytest.raises(diskimage.UnsafeImage):
        diskimage.blockdev(tmp_path / "i", "vmdk")
