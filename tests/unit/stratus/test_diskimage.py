"""The disk image checks: each pass alone refuses images that name other files."""

from __future__ import annotations

import asyncio
import sys
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
    info = await diskimage.qemu_img_info(badimages.huge_qcow2(tmp_path), "qcow2")
    with pytest.raises(diskimage.UnsafeImage, match="exceeds"):
        diskimage.check_qemu_info(info, "qcow2", 1 << 40)
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


def _fake_qemu_img(tmp_path: Path, body: str) -> str:
    """A stand-in for qemu-img that misbehaves as a hostile image could make it, then answers."""
    tool = tmp_path / "qemu-img"
    answer = '{"format": "raw", "virtual-size": 1, "filename": "x"}'
    tool.write_text(f"#!{sys.executable}\n{body}\nprint('{answer}')\n")
    tool.chmod(0o700)
    return str(tool)


async def test_qemu_img_runs_bounded_in_memory_cpu_and_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OSSA-2015-014: an image crafted to make qemu-img allocate or spin without end."""
    image = tmp_path / "image.raw"
    image.write_bytes(bytes(512))
    greedy = _fake_qemu_img(tmp_path, "hog = bytes(3 << 30)")  # 3 GiB, over the 1 GiB cap
    with pytest.raises(diskimage.UnsafeImage, match="cannot read"):
        await diskimage.qemu_img_info(image, "raw", greedy)
    monkeypatch.setattr(diskimage, "QEMU_IMG_CPU_SECONDS", 1)
    spinning = _fake_qemu_img(tmp_path, "import time\nend = time.process_time() + 5\n"
                              "while time.process_time() < end: pass")  # fmt: skip
    with pytest.raises(diskimage.UnsafeImage, match="cannot read"):
        await diskimage.qemu_img_info(image, "raw", spinning)
    monkeypatch.setattr(diskimage, "QEMU_IMG_WALL_SECONDS", 0.5)
    sleeping = _fake_qemu_img(tmp_path, "import time\ntime.sleep(30)")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(diskimage.UnsafeImage, match="too long"):
        await diskimage.qemu_img_info(image, "raw", sleeping)
    assert loop.time() - started < 5
    # The same stand-in, well behaved, is believed: the bounds are what refused.
    polite = _fake_qemu_img(tmp_path, "pass")
    assert (await diskimage.qemu_img_info(image, "raw", polite))["virtual-size"] == 1
