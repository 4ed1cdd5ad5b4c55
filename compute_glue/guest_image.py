"""A tiny bootable test guest: the host's Debian kernel plus a busybox initramfs.

Tests (and later ``stratus image build-test-guest``) need a VM that boots in
seconds under TCG, sees virtio disks and runs a shell script handed to it on
the kernel command line. Nothing here needs a cpio binary or root: the
initramfs is a gzip-compressed ``newc`` cpio archive written in Python, and
its content is cached on disk under a key of everything that goes into it.

The guest's ``/init`` prints markers on the serial console (``MARK_*``),
configures its NICs (static ``stratus.net<N>=`` addresses from the kernel
command line, else DHCP with busybox ``udhcpc``, as cloud images do), runs
its user data: fetched from the metadata service
(``http://169.254.169.254/openstack/latest/user_data``) when a NIC got a DHCP
lease, else the base64 script in the fw_cfg file ``opt/io.stratus/user_data``,
else ``stratus.cmd=`` on the kernel command line; then it powers the VM off;
with QEMU's ``-no-reboot`` that ends the QEMU process too.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import lzma
import os
import re
import struct
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from compute_glue.servers.guestconfig import NET_PARAM, USER_DATA_FW_CFG

# Bumped whenever the archive layout or /init changes shape.
FORMAT_VERSION = 3

BOOT_DIR = Path("/boot")
MODULES_ROOT = Path("/lib/modules")
BUSYBOX = Path("/bin/busybox")

# virtio-blk (-> /dev/vda) and virtio-net; dependencies are added and ordered
# from each module's own ``depends=`` so another kernel's split also works.
DEFAULT_MODULES: tuple[str, ...] = (
    "virtio_ring",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio",
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "net_failover",
    "failover",
    "qemu_fw_cfg",  # /sys/firmware/qemu_fw_cfg: the script handed over as firmware config
)
# virtio-scsi (-> /dev/sda), for callers that ask for it with extra_modules.
SCSI_MODULES: tuple[str, ...] = ("virtio_scsi", "sd_mod")

# Markers that /init prints on the console, one per line.
MARK_READY = "STRATUS-GUEST: ready"
MARK_NO_CMD = "STRATUS-GUEST: no command"
MARK_CMD_EXIT = "STRATUS-GUEST: command exit"  # followed by " <status>"
MARK_POWEROFF = "STRATUS-GUEST: poweroff"
MARK_MODULE_FAILED = "STRATUS-GUEST: insmod failed"  # followed by " <module>"
MARK_NET = "STRATUS-GUEST: net"  # followed by " <ifname> <address/prefix>"
MARK_DHCP = "STRATUS-GUEST: dhcp"  # followed by " <ifname> <address/prefix>": a lease
MARK_METADATA = "STRATUS-GUEST: user_data from metadata"
METADATA_USER_DATA = "http://169.254.169.254/openstack/latest/user_data"

CMD_PARAM = "stratus.cmd"
# The same base64 script as the fw_cfg file the compute service writes (USER_DATA_FW_CFG), and
# static NIC addresses (NET_PARAM): what the compute service tells a guest; /init prefers fw_cfg.
# x86's COMMAND_LINE_SIZE is 2048; keep room for console=, quiet, etc.
MAX_CMD_PARAM = 1800

BASE_CMDLINE = "console=ttyS0 panic=-1 quiet rdinit=/init"


class GuestImageError(RuntimeError):
    """The host lacks what the guest is built from, or the input is unusable."""


@dataclass(frozen=True)
class GuestImage:
    """A kernel and an initramfs that QEMU boots with ``-kernel``/``-initrd``."""

    kernel: Path
    initramfs: Path
    kernel_version: str = ""


def build_test_guest(
    out_dir: Path,
    *,
    kernel_version: str | None = None,
    extra_modules: Sequence[str] = (),
    busybox: Path = BUSYBOX,
) -> GuestImage:
    """Build (or reuse from ``out_dir``) the test guest for one host kernel.

    ``kernel_version`` defaults to the newest ``/boot/vmlinuz-*`` whose modules
    are installed: the running kernel is often not Debian's, so it is no guide.
    """
    version = kernel_version or newest_kernel_version()
    _check_version(version)
    kernel = BOOT_DIR / f"vmlinuz-{version}"
    moddir = MODULES_ROOT / version
    if not kernel.is_file():
        raise GuestImageError(f"{kernel} is missing (Debian package linux-image-amd64)")
    if not (moddir / "kernel").is_dir():
        raise GuestImageError(f"{moddir}/kernel is missing (kernel {version} has no modules)")
    if not busybox.is_file():
        raise GuestImageError(f"{busybox} is missing (Debian package busybox-static)")
    bb = busybox.read_bytes()
    if not _is_static_elf(bb):
        raise GuestImageError(f"{busybox} is not a static executable: install busybox-static")

    modules = resolve_modules(moddir, [*DEFAULT_MODULES, *extra_modules])
    init = init_script([name for name, _ in modules])
    st = kernel.stat()
    key = hashlib.sha256()
    for part in (
        str(FORMAT_VERSION),
        version,
        f"{st.st_size}:{st.st_mtime_ns}",
        hashlib.sha256(bb).hexdigest(),
        hashlib.sha256(init.encode()).hexdigest(),
        *(f"{name}={path}" for name, path in modules),
    ):
        key.update(part.encode() + b"\0")
    out_dir.mkdir(parents=True, exist_ok=True)
    initramfs = out_dir / f"stratus-guest-{version}-{key.hexdigest()[:16]}.cpio.gz"
    if not initramfs.is_file():
        archive = _archive(bb, init, [(name, _module_bytes(path)) for name, path in modules])
        _write_atomically(initramfs, gzip.compress(archive, compresslevel=6, mtime=0))
    return GuestImage(kernel=kernel, initramfs=initramfs, kernel_version=version)


# /init's static network set-up: every ``stratus.net<N>=`` names a NIC by its MAC.
NET_SETUP = f"""for w in $(cat /proc/cmdline); do
    case "$w" in
    {NET_PARAM}[0-9]*=*)
        v=${{w#*=}}; mac=${{v%%,*}}; rest=${{v#*,}}; addr=${{rest%%,*}}; gw=${{rest#*,}}
        [ "$gw" = "$rest" ] && gw=
        for d in /sys/class/net/*; do
            [ "$(cat "$d/address")" = "$mac" ] || continue
            n=${{d##*/}}
            ip link set "$n" up && ip addr add "$addr" dev "$n" && echo "{MARK_NET} $n $addr"
            [ -n "$gw" ] && ip route add default via "$gw" dev "$n"
        done;;
    esac
done"""


# busybox udhcpc's script: applies a lease the way cloud images' DHCP clients do.
UDHCPC_SCRIPT = f"""#!/bin/sh
case "$1" in
deconfig)
    ip addr flush dev "$interface"; ip link set "$interface" up;;
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    echo "{MARK_NET} $interface $ip/$mask"
    echo "{MARK_DHCP} $interface $ip/$mask"
    touch /tmp/dhcp-bound;;
esac
"""

# NICs the kernel command line did not configure ask DHCP (a few tries: TCG is slow).
DHCP_SETUP = """for d in /sys/class/net/*; do
    n=${d##*/}
    [ "$n" = lo ] && continue
    ip addr show dev "$n" | grep -q 'inet ' && continue
    ip link set "$n" up
    udhcpc -i "$n" -s /etc/udhcpc.script -q -n -t 8 -T 2 -O mtu
done"""


def kernel_cmdline(script: str | None = None, *, extra: str = "") -> str:
    """The ``-append`` line for a guest that runs ``script`` (a busybox sh script)."""
    parts = [BASE_CMDLINE]
    if extra:
        parts.append(extra)
    if script is not None:
        encoded = base64.b64encode(script.encode()).decode()
        param = f"{CMD_PARAM}={encoded}"
        if len(param) > MAX_CMD_PARAM:
            raise GuestImageError(
                f"guest script is {len(script)} bytes; it must encode to at most "
                f"{MAX_CMD_PARAM} bytes on the kernel command line"
            )
        parts.append(param)
    return " ".join(parts)


def newest_kernel_version(boot_dir: Path = BOOT_DIR, modules_root: Path = MODULES_ROOT) -> str:
    """The newest kernel that has both a vmlinuz in /boot and its modules."""
    found = [
        p.name.removeprefix("vmlinuz-")
        for p in boot_dir.glob("vmlinuz-*")
        if (modules_root / p.name.removeprefix("vmlinuz-") / "kernel").is_dir()
    ]
    if not found:
        raise GuestImageError(
            f"no {boot_dir}/vmlinuz-* with modules under {modules_root} "
            "(Debian package linux-image-amd64)"
        )
    return max(found, key=_version_key)


def _version_key(version: str) -> list[tuple[int, int | str]]:
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"[.\-+~]", version)]


def _check_version(version: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}", version):
        raise GuestImageError(f"invalid kernel version {version!r}")


# --- modules -----------------------------------------------------------------

_MODULE_SUFFIXES = (".ko", ".ko.xz")


def _module_name(path: Path) -> str:
    name = path.name
    for suffix in _MODULE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.replace("-", "_")


def resolve_modules(moddir: Path, wanted: Iterable[str]) -> list[tuple[str, Path]]:
    """Modules to insmod, dependencies first; built-in ones are left out."""
    index: dict[str, Path] = {}
    for path in (moddir / "kernel").rglob("*.ko*"):
        if path.name.endswith(_MODULE_SUFFIXES):
            index.setdefault(_module_name(path), path)
    builtin = _builtin_modules(moddir)
    ordered: list[tuple[str, Path]] = []
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        name = name.replace("-", "_")
        if name in done or name in builtin:
            return
        if name in chain:
            raise GuestImageError(f"module dependency cycle: {' -> '.join((*chain, name))}")
        path = index.get(name)
        if path is None:
            raise GuestImageError(f"kernel module {name} not found under {moddir}")
        for dep in _module_depends(_module_bytes(path)):
            visit(dep, (*chain, name))
        done.add(name)
        ordered.append((name, path))

    for name in wanted:
        visit(name, ())
    return ordered


def _builtin_modules(moddir: Path) -> set[str]:
    listing = moddir / "modules.builtin"
    if not listing.is_file():
        return set()
    return {_module_name(Path(line.strip())) for line in listing.read_text().split() if line}


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        try:
            return lzma.decompress(data)
        except lzma.LZMAError as exc:
            raise GuestImageError(f"cannot decompress {path}: {exc}") from exc
    return data


def _module_depends(ko: bytes) -> list[str]:
    """The ``depends=`` entry of a module's .modinfo section (NUL-separated)."""
    at = ko.find(b"\0depends=")
    if at < 0:
        return []
    start = at + len(b"\0depends=")
    value = ko[start : ko.index(b"\0", start)].decode("ascii", "replace")
    return [d for d in value.split(",") if d]


def _is_static_elf(data: bytes) -> bool:
    """True for a 64-bit little-endian ELF without a PT_INTERP (dynamic loader)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        (p_type,) = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


# --- /init and the archive -----------------------------------------------------


def init_script(modules: Sequence[str]) -> str:
    """The guest's /init: mount, load modules, run stratus.cmd, power off."""
    insmods = "\n".join(
        f'insmod /lib/modules/{m}.ko || echo "{MARK_MODULE_FAILED} {m}"' for m in modules
    )
    return f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t tmpfs tmpfs /tmp
{insmods}
ip link set lo up 2>/dev/null
{NET_SETUP}
{DHCP_SETUP}
echo "{MARK_READY}"
fw=/sys/firmware/qemu_fw_cfg/by_name/{USER_DATA_FW_CFG}/raw
cmd=
if [ -e /tmp/dhcp-bound ]; then
    for i in 1 2 3 4 5; do
        if wget -q -O /tmp/cmd.sh {METADATA_USER_DATA}; then
            echo "{MARK_METADATA}"; cmd=metadata; break
        fi
        sleep 1
    done
fi
if [ -n "$cmd" ]; then
    :
elif [ -r "$fw" ]; then
    cmd=$(cat "$fw")
else
    cmd=$(sed -n 's/.*{CMD_PARAM}=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
fi
if [ -n "$cmd" ]; then
    [ "$cmd" = metadata ] || echo "$cmd" | base64 -d > /tmp/cmd.sh
    sh /tmp/cmd.sh
    echo "{MARK_CMD_EXIT} $?"
else
    echo "{MARK_NO_CMD}"
fi
sync
echo "{MARK_POWEROFF}"
poweroff -f
"""


class _Cpio:
    """Writer of a ``newc`` cpio archive (the format the kernel unpacks)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._ino = 300000

    def add(
        self, name: str, mode: int, data: bytes = b"", *, rdev: tuple[int, int] = (0, 0)
    ) -> None:
        self._ino += 1
        encoded = name.encode() + b"\0"
        fields = (
            self._ino,
            mode,
            0,  # uid
            0,  # gid
            2 if mode & 0o170000 == 0o040000 else 1,  # nlink
            0,  # mtime: reproducible archives
            len(data),
            0,  # devmajor
            0,  # devminor
            rdev[0],
            rdev[1],
            len(encoded),
            0,  # check
        )
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self._parts += [header, encoded, _pad(len(header) + len(encoded)), data, _pad(len(data))]

    def dir(self, name: str) -> None:
        self.add(name, 0o040755)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        self.add(name, 0o100000 | perm, data)

    def symlink(self, name: str, target: str) -> None:
        self.add(name, 0o120777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        self.add(name, 0o020600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._ino = 0
        self.add("TRAILER!!!", 0)
        return b"".join(self._parts)


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _archive(busybox: bytes, init: str, modules: Sequence[tuple[str, bytes]]) -> bytes:
    cpio = _Cpio()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "etc"):
        cpio.dir(d)
    cpio.dir("lib")
    cpio.dir("lib/modules")
    cpio.chardev("dev/console", 5, 1)
    cpio.chardev("dev/null", 1, 3)
    cpio.file("bin/busybox", busybox, 0o755)
    cpio.symlink("bin/sh", "busybox")
    cpio.file("init", init.encode(), 0o755)
    cpio.file("etc/udhcpc.script", UDHCPC_SCRIPT.encode(), 0o755)
    for name, data in modules:
        cpio.file(f"lib/modules/{name}.ko", data)
    return cpio.finish()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
