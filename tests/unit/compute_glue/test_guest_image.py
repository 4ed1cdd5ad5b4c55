"""The test-guest builder: newc archive layout, module ordering, caching, command line."""

from __future__ import annotations

import base64
import gzip
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from compute_glue import guest_image as gi
from compute_glue.guest_image import GuestImageError, build_test_guest, kernel_cmdline


def parse_newc(data: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    """An independent reader of newc archives: name -> (mode, data, (rdevmajor, rdevminor))."""
    entries = {}
    pos = 0
    while True:
        assert data[pos : pos + 6] == b"070701", f"bad magic at {pos}"
        fields = [int(data[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, rmaj, rmin, namesize = (
            fields[1],
            fields[6],
            fields[9],
            fields[10],
            fields[11],
        )
        name_start = pos + 110
        name = data[name_start : name_start + namesize - 1].decode()
        assert data[name_start + namesize - 1] == 0
        body = (name_start + namesize + 3) & ~3
        assert data[name_start + namesize : body] == b"\0" * (body - name_start - namesize)
        if name == "TRAILER!!!":
            assert len(data) == (body + 3) & ~3
            return entries
        entries[name] = (mode, data[body : body + filesize], (rmaj, rmin))
        pos = (body + filesize + 3) & ~3


def test_cpio_writer_round_trips_through_an_independent_reader() -> None:
    cpio = gi._Cpio()
    cpio.dir("etc")
    cpio.file("etc/a", b"12345", 0o600)  # odd sizes exercise the 4-byte padding
    cpio.file("etc/empty", b"")
    cpio.symlink("etc/link", "a")
    cpio.chardev("console", 5, 1)
    entries = parse_newc(cpio.finish())
    assert entries["etc"][0] == 0o040755
    assert entries["etc/a"] == (0o100600, b"12345", (0, 0))
    assert entries["etc/empty"][1] == b""
    assert entries["etc/link"] == (0o120777, b"a", (0, 0))
    assert entries["console"] == (0o020600, b"", (5, 1))


def test_cpio_writer_matches_gnu_cpio_when_present(tmp_path: Path) -> None:
    if shutil.which("cpio") is None:
        pytest.skip("GNU cpio is not installed; the independent reader above still runs")
    cpio = gi._Cpio()
    cpio.dir("d")
    cpio.file("d/f", b"hello\n")
    listing = subprocess.run(
        ["cpio", "-it", "--quiet"], input=cpio.finish(), capture_output=True, check=True
    )
    assert listing.stdout.split() == [b"d", b"d/f"]


def _fake_module(deps: str) -> bytes:
    return b"\x7fELF junk\0license=GPL\0depends=" + deps.encode() + b"\0name=x\0more"


def test_modules_are_ordered_dependencies_first(tmp_path: Path) -> None:
    kdir = tmp_path / "kernel" / "drivers"
    kdir.mkdir(parents=True)
    (kdir / "top.ko").write_bytes(_fake_module("mid,base"))
    (kdir / "mid.ko.xz").write_bytes(lzma.compress(_fake_module("base")))
    (kdir / "base.ko").write_bytes(_fake_module(""))
    (kdir / "other-name.ko").write_bytes(_fake_module("built_in_one"))
    (tmp_path / "modules.builtin").write_text("kernel/lib/built_in_one.ko\n")
    got = gi.resolve_modules(tmp_path, ["top", "other_name"])
    assert [name for name, _ in got] == ["base", "mid", "top", "other_name"]
    # A compressed module is stored decompressed: busybox insmod reads plain ELF.
    assert gi._module_bytes(dict(got)["mid"]).startswith(b"\x7fELF")


def test_a_missing_module_or_a_cycle_is_an_error(tmp_path: Path) -> None:
    kdir = tmp_path / "kernel"
    kdir.mkdir()
    (kdir / "a.ko").write_bytes(_fake_module("b"))
    (kdir / "b.ko").write_bytes(_fake_module("a"))
    with pytest.raises(GuestImageError, match="cycle"):
        gi.resolve_modules(tmp_path, ["a"])
    with pytest.raises(GuestImageError, match="not found"):
        gi.resolve_modules(tmp_path, ["nope"])


def test_newest_kernel_needs_modules_and_sorts_numerically(tmp_path: Path) -> None:
    boot, mods = tmp_path / "boot", tmp_path / "modules"
    boot.mkdir()
    for v in ("6.9.0-1-amd64", "6.10.0-2-amd64", "7.0.0-1-amd64"):
        (boot / f"vmlinuz-{v}").write_bytes(b"k")
    for v in ("6.9.0-1-amd64", "6.10.0-2-amd64"):  # 7.0 has no modules
        (mods / v / "kernel").mkdir(parents=True)
    assert gi.newest_kernel_version(boot, mods) == "6.10.0-2-amd64"
    with pytest.raises(GuestImageError):
        gi.newest_kernel_version(tmp_path / "none", mods)


def test_kernel_version_is_validated(tmp_path: Path) -> None:
    with pytest.raises(GuestImageError, match="invalid kernel version"):
        build_test_guest(tmp_path, kernel_version="../../etc")


def test_command_line_carries_the_script_and_bounds_its_size() -> None:
    line = kernel_cmdline("echo hi\n", extra="loglevel=3")
    assert line.startswith("console=ttyS0 ")
    assert "loglevel=3" in line
    param = next(p for p in line.split() if p.startswith("stratus.cmd="))
    assert base64.b64decode(param.split("=", 1)[1]) == b"echo hi\n"
    assert "stratus.cmd" not in kernel_cmdline(None)
    with pytest.raises(GuestImageError, match="kernel command line"):
        kernel_cmdline("x" * 2000)


def test_static_elf_check() -> None:
    assert not gi._is_static_elf(b"#!/bin/sh\n")
    ls = Path("/bin/ls")
    if ls.exists():
        assert not gi._is_static_elf(ls.read_bytes())  # dynamically linked on Debian


def _host_guest_or_skip(out: Path, **kw: object) -> gi.GuestImage:
    try:
        return build_test_guest(out, **kw)  # type: ignore[arg-type]
    except GuestImageError as exc:
        pytest.skip(f"host cannot build the guest: {exc}")


def test_init_script_is_valid_busybox_sh(tmp_path: Path) -> None:
    if not gi.BUSYBOX.exists():
        pytest.skip("busybox-static is not installed")
    script = tmp_path / "init"
    script.write_text(gi.init_script(["virtio_ring", "virtio_blk"]))
    subprocess.run([str(gi.BUSYBOX), "sh", "-n", str(script)], check=True)


def test_host_guest_holds_init_busybox_console_and_ordered_modules(tmp_path: Path) -> None:
    image = _host_guest_or_skip(tmp_path)
    entries = parse_newc(gzip.decompress(image.initramfs.read_bytes()))
    init = entries["init"][1].decode()
    assert entries["init"][0] == 0o100755 and init.startswith("#!/bin/busybox sh")
    assert entries["bin/busybox"][1] == gi.BUSYBOX.read_bytes()
    assert entries["dev/console"][2] == (5, 1)
    order = [line.split()[1] for line in init.splitlines() if line.startswith("insmod ")]
    names = [p.removeprefix("/lib/modules/").removesuffix(".ko") for p in order]
    assert set(names) <= {n.removeprefix("lib/modules/").removesuffix(".ko") for n in entries}
    for before, after in [
        ("virtio_ring", "virtio"),
        ("virtio", "virtio_pci"),
        ("virtio", "virtio_blk"),
        ("failover", "net_failover"),
        ("net_failover", "virtio_net"),
    ]:
        if before in names and after in names:
            assert names.index(before) < names.index(after)
    assert "virtio_blk" in names or "virtio_blk" in gi._builtin_modules(
        gi.MODULES_ROOT / image.kernel_version
    )


def test_host_guest_is_cached_and_keyed_on_its_inputs(tmp_path: Path) -> None:
    first = _host_guest_or_skip(tmp_path / "out")
    stamp = first.initramfs.stat().st_mtime_ns
    again = build_test_guest(tmp_path / "out")
    assert again == first and again.initramfs.stat().st_mtime_ns == stamp
    other_bb = tmp_path / "busybox"
    other_bb.write_bytes(gi.BUSYBOX.read_bytes() + b"\0")  # still a static ELF
    changed = build_test_guest(tmp_path / "out", busybox=other_bb)
    assert changed.initramfs != first.initramfs
    with_scsi = build_test_guest(tmp_path / "out", extra_modules=gi.SCSI_MODULES)
    assert with_scsi.initramfs != first.initramfs
    assert "insmod /lib/modules/virtio_scsi.ko" in gzip.decompress(
        with_scsi.initramfs.read_bytes()
    ).decode("latin-1")


def test_a_dynamic_busybox_is_refused(tmp_path: Path) -> None:
    ls = Path("/bin/ls")
    if not ls.exists():
        pytest.skip("no dynamic executable to try")
    try:
        gi.newest_kernel_version()
    except GuestImageError as exc:
        pytest.skip(str(exc))
    with pytest.raises(GuestImageError, match="busybox-static"):
        build_test_guest(tmp_path, busybox=ls)
