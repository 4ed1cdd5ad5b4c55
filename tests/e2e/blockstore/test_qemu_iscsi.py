"""A real VM does disk I/O through QEMU's iSCSI driver against Stratus's target.

QEMU (TCG) boots the tiny busybox guest with a LUN attached as a virtio-blk
disk; the guest reads and writes /dev/vda with O_DIRECT and prints checksums
on its serial console; the host checks them against the bytes in the backing
file. Variants: CHAP (``-object secret``), a wrong CHAP secret (refused at
login, nothing written), and hot-plug/unplug over QMP the way compute attaches
volumes. One VM boot per test.

``VMTEST_TARGET=tgtd`` runs the same tests against the peer target (tgtd, via
../shared/peers/tgt) to check the tests themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.net import free_port
from tests.helpers.qemu import BOOT_WAIT, guest_image, run_vm
from tests.helpers.tools import missing_tool, need_tool

pytestmark = pytest.mark.slow

TARGET = os.environ.get("VMTEST_TARGET", "stratus")
# Optional: the tgtd peer beside the repository, in ../shared/peers/tgt.
PEERS = Path(__file__).resolve().parents[3].parent / "shared" / "peers" / "tgt"
INITIATOR = "iqn.2024-01.org.stratus.test:vm"
LUN_SIZE = 64 * 1024 * 1024
BS = 4096
CHAP_USER, CHAP_SECRET = "vmtest", "s3cret-vmtest-16"  # tgt wants 12..16 chars


@dataclass
class Lun:
    """One exported LUN: where QEMU finds it and which file holds its bytes."""

    port: int
    iqn: str
    lun: int
    backing: Path
    chap: tuple[str, str] | None
    proc: subprocess.Popen[bytes] | None = None  # the Stratus target process

    def blockdev(self, node: str, secret_id: str | None = None) -> dict[str, object]:
        opts: dict[str, object] = {
            "driver": "iscsi",
            "node-name": node,
            "transport": "tcp",
            "portal": f"127.0.0.1:{self.port}",
            "target": self.iqn,
            "lun": self.lun,
            "initiator-name": INITIATOR,
            "cache": {"direct": True},
        }
        if self.chap and secret_id:
            opts |= {"user": self.chap[0], "password-secret": secret_id}
        return opts

    def read(self, offset: int, length: int) -> bytes:
        with self.backing.open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def assert_target_alive(self) -> None:
        if self.proc is not None:
            assert self.proc.poll() is None, f"target exited ({self.proc.returncode})"


def blockdev_arg(opts: dict[str, object]) -> str:
    """``-blockdev`` key=value form of a flat iSCSI node (nested dicts dotted)."""
    parts = []
    for key, value in opts.items():
        if isinstance(value, dict):
            parts += [f"{key}.{k}={_qemu_value(v)}" for k, v in value.items()]
        else:
            parts.append(f"{key}={_qemu_value(value)}")
    return ",".join(parts)


def _qemu_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value)
    assert "," not in text, text
    return text


def _wait_port(port: int, proc: subprocess.Popen[bytes] | None, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"target exited ({proc.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    pytest.fail(f"target not listening on {port} after 30 s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def stratus_lun(workdir: Path, chap: tuple[str, str] | None) -> Iterator[Lun]:
    stratus = str(Path(sys.executable).parent / "stratus")
    backing, log = workdir / "lun.img", workdir / "target.log"
    with backing.open("wb") as f:
        f.truncate(LUN_SIZE)
    port, iqn = free_port(), f"iqn.2024-01.org.stratus.test:{workdir.name}"
    argv = [stratus, "target", "export", str(backing)]
    argv += ["--iqn", iqn, "--portal", f"127.0.0.1:{port}"]
    if chap:
        argv += ["--chap", f"{chap[0]}:{chap[1]}"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, log)
        yield Lun(port, iqn, 0, backing, chap, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextlib.contextmanager
def tgtd_lun(workdir: Path, chap: tuple[str, str] | None) -> Iterator[Lun]:
    need_tool("tgtd", "tgt")
    if os.geteuid() != 0 or not (PEERS / "tgt-up.sh").exists():
        missing_tool("tgtd peer needs root and ../shared/peers/tgt")
    backing = workdir / "lun.img"
    with backing.open("wb") as f:
        f.truncate(LUN_SIZE)
    port = free_port()
    ctrl = next(c for c in range(7300, 7500) if not Path(f"/var/run/tgtd/socket.{c}").exists())
    iqn = "iqn.2024-01.org.stratus.peer:tgt0"
    env = dict(os.environ, PORT=str(port), CTRL=str(ctrl), BACKING=str(backing), IQN=iqn)
    env["STATE"] = str(workdir / "tgt")
    if chap:
        env |= {"CHAP_USER": chap[0], "CHAP_PASS": chap[1]}
    try:
        subprocess.run(["bash", str(PEERS / "tgt-up.sh")], env=env, check=True, timeout=60,
                       capture_output=True)  # fmt: skip
        _wait_port(port, None, workdir / "tgt" / "tgtd.log")
        yield Lun(port, iqn, 1, backing, chap)
    finally:
        subprocess.run(["bash", str(PEERS / "tgt-down.sh")], env=env, timeout=60,
                       capture_output=True)  # fmt: skip


def _lun(tmp_path_factory: pytest.TempPathFactory, name: str, chap: tuple[str, str] | None):
    need_tool("qemu-system-x86_64", "qemu-system-x86")
    if not Path("/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so").exists():
        missing_tool("QEMU's iSCSI driver (Debian package qemu-block-extra) is not installed")
    workdir = tmp_path_factory.mktemp(name)
    return (stratus_lun if TARGET == "stratus" else tgtd_lun)(workdir, chap)


@pytest.fixture(scope="module")
def plain_lun(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lun]:
    with _lun(tmp_path_factory, "plain", None) as lun:
        yield lun


@pytest.fixture(scope="module")
def chap_lun(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lun]:
    with _lun(tmp_path_factory, "chap", (CHAP_USER, CHAP_SECRET)) as lun:
        yield lun


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory):
    return guest_image(tmp_path_factory.mktemp("guest"))


def secret_file(workdir: Path, secret: str) -> Path:
    """The CHAP secret for QEMU in a 0600 file, not on its command line."""
    path = workdir / "chap.secret"
    path.touch(mode=0o600)
    path.write_text(secret)
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def field(line: str) -> str:
    """The checksum a guest line ``T:NAME <md5>  -`` carries."""
    return line.split("T:", 1)[1].split()[1]


# Block offsets (4 KiB units) the guest uses; the host pre-writes SEED_AT.
SEED_AT, COPY_TO, RAND_AT = 256, 1024, 2048 + 5  # RAND_AT: not 64 KiB-aligned
SEED_BLOCKS, RAND_BLOCKS = 16, 256  # 64 KiB read/copied, 1 MiB written
PARALLEL_BYTES = 8 * 1024 * 1024  # host-seeded, read by 8 concurrent 1 MiB reads

IO_SCRIPT = f"""set -e
d=/dev/vda
echo "T:SECTORS $(cat /sys/block/vda/size) x"
for n in 0 1 2 3 4 5 6 7; do
  dd if=$d of=/tmp/p$n bs=1048576 skip=$n count=1 iflag=direct 2>/dev/null &
done
wait
echo "T:PARALLEL $(cat /tmp/p? | md5sum)"
dd if=$d of=/tmp/a bs={BS} skip={SEED_AT} count={SEED_BLOCKS} iflag=direct 2>/dev/null
echo "T:READ $(md5sum </tmp/a)"
dd if=/tmp/a of=$d bs={BS} seek={COPY_TO} count={SEED_BLOCKS} oflag=direct conv=fsync 2>/dev/null
dd if=/dev/urandom of=/tmp/w bs=65536 count={RAND_BLOCKS // 16} 2>/dev/null
echo "T:WROTE $(md5sum </tmp/w)"
dd if=/tmp/w of=$d bs={BS} seek={RAND_AT} count={RAND_BLOCKS} oflag=direct conv=fsync 2>/dev/null
dd if=$d of=/tmp/r bs={BS} skip={RAND_AT} count={RAND_BLOCKS} iflag=direct 2>/dev/null
echo "T:BACK $(md5sum </tmp/r)"
last=$(( $(cat /sys/block/vda/size) / 8 - 1 ))
dd if=/tmp/w of=$d bs={BS} seek=$last count=1 oflag=direct conv=fsync 2>/dev/null
echo "T:LAST $(dd if=$d bs={BS} skip=$last count=1 iflag=direct 2>/dev/null | md5sum)"
"""


def seed(lun: Lun) -> bytes:
    """Fresh random bytes over the first PARALLEL_BYTES of the backing file."""
    data = os.urandom(PARALLEL_BYTES)
    with lun.backing.open("r+b") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return data


async def check_io_script_results(vm, lun: Lun, seeded: bytes) -> None:
    """Follow IO_SCRIPT's console lines and check every one against the backing file."""
    sectors = (await vm.wait_for("T:SECTORS ", BOOT_WAIT)).split("T:SECTORS ", 1)[1].split()[0]
    assert int(sectors) * 512 == LUN_SIZE
    # Eight 1 MiB direct reads at once: several MiB in flight on one session.
    assert field(await vm.wait_for("T:PARALLEL ")) == md5(seeded), "parallel reads differ"
    seeded = seeded[SEED_AT * BS : (SEED_AT + SEED_BLOCKS) * BS]
    assert field(await vm.wait_for("T:READ ")) == md5(seeded), "guest read other bytes"
    wrote = field(await vm.wait_for("T:WROTE "))
    assert field(await vm.wait_for("T:BACK ")) == wrote, "guest read back other bytes"
    last = field(await vm.wait_for("T:LAST "))
    assert await vm.wait_command_exit() == 0, vm.diagnostics()
    assert await vm.wait_poweroff() == 0
    # The host sees exactly what the guest wrote, where it wrote it.
    assert lun.read(COPY_TO * BS, len(seeded)) == seeded
    assert md5(lun.read(RAND_AT * BS, RAND_BLOCKS * BS)) == wrote
    assert md5(lun.read(LUN_SIZE - BS, BS)) == last
    assert lun.read(LUN_SIZE - BS, BS) == lun.read(RAND_AT * BS, BS)
    lun.assert_target_alive()


async def test_guest_reads_and_writes_reach_the_backing_file(image, plain_lun, tmp_path):
    seeded = seed(plain_lun)
    args = ["-blockdev", blockdev_arg(plain_lun.blockdev("vol0"))]
    args += ["-device", "virtio-blk-pci,drive=vol0,id=disk0"]
    async with run_vm(image, tmp_path, script=IO_SCRIPT, args=args) as vm:
        await check_io_script_results(vm, plain_lun, seeded)


async def test_guest_io_with_chap_secret_object(image, chap_lun, tmp_path):
    seeded = seed(chap_lun)
    secret = secret_file(tmp_path, CHAP_SECRET)
    args = ["-object", f"secret,id=sec0,file={secret}"]
    args += ["-blockdev", blockdev_arg(chap_lun.blockdev("vol0", "sec0"))]
    args += ["-device", "virtio-blk-pci,drive=vol0,id=disk0"]
    async with run_vm(image, tmp_path, script=IO_SCRIPT, args=args) as vm:
        await check_io_script_results(vm, chap_lun, seeded)
    assert CHAP_SECRET not in (tmp_path / "vm.stderr").read_text()


@pytest.mark.parametrize("password", [None, "wrong-secret-123"], ids=["no-chap", "wrong-secret"])
async def test_login_without_the_right_chap_secret_is_refused(image, chap_lun, tmp_path, password):
    before = chap_lun.read(0, 1024 * 1024)
    args = ["-device", "virtio-blk-pci,drive=vol0,id=disk0"]
    opts = chap_lun.blockdev("vol0")
    if password is not None:
        args += ["-object", f"secret,id=bad,file={secret_file(tmp_path, password)}"]
        opts = chap_lun.blockdev("vol0", "bad")
    args += ["-blockdev", blockdev_arg(opts)]
    # QEMU opens the LUN before the guest starts; a refused login ends QEMU at once.
    async with run_vm(image, tmp_path, script="dd if=/dev/zero of=/dev/vda bs=4096 count=256",
                      args=args, connect_qmp=False) as vm:  # fmt: skip
        status = await vm.wait_exit(60)
    assert status != 0
    err = (tmp_path / "vm.stderr").read_text()
    assert "Failed to log in" in err, err
    if password is not None:
        assert "Authentication failure(513)" in err, err
        assert password not in err
    assert "STRATUS-GUEST" not in vm.console()
    assert chap_lun.read(0, 1024 * 1024) == before
    chap_lun.assert_target_alive()


# The guest never powers off while a detach is in flight: QEMU sends
# DEVICE_DELETED only after the guest's eject, and a VM that exits first
# never sends it. So it waits for the disk to come back instead.
HOTPLUG_SCRIPT = f"""set -e
plugged() {{ i=0; until [ -b /dev/vda ]; do i=$((i+1)); [ $i -lt 900 ]; sleep 0.1; done; }}
plugged
echo "T:PLUGGED $(cat /sys/block/vda/size) x"
dd if=/dev/urandom of=/tmp/w bs={BS} count=64 2>/dev/null
echo "T:WROTE $(md5sum </tmp/w)"
dd if=/tmp/w of=/dev/vda bs={BS} seek={RAND_AT} count=64 oflag=direct conv=fsync 2>/dev/null
echo "T:BACK $(dd if=/dev/vda bs={BS} skip={RAND_AT} count=64 iflag=direct 2>/dev/null | md5sum)"
i=0; while [ -e /sys/block/vda ]; do i=$((i+1)); [ $i -lt 900 ]; sleep 0.1; done
echo "T:UNPLUGGED x x"
plugged
echo "T:AGAIN $(dd if=/dev/vda bs={BS} skip={RAND_AT} count=64 iflag=direct 2>/dev/null | md5sum)"
"""


async def attach(qmp, lun: Lun, secret: Path) -> None:
    """Compute's attach: the secret, the iSCSI node, then the virtio-blk device."""
    await qmp.execute("object-add", {"qom-type": "secret", "id": "sec1", "file": str(secret)})
    await qmp.execute("blockdev-add", lun.blockdev("vol1", "sec1"))
    await qmp.execute(
        "device_add", {"driver": "virtio-blk-pci", "id": "disk1", "drive": "vol1", "bus": "pci.0"}
    )


async def detach(qmp) -> None:
    """Compute's detach: unplug, wait for the guest's eject, then drop node and secret."""
    await qmp.execute("device_del", {"id": "disk1"})
    await qmp.wait_event("DEVICE_DELETED", data={"device": "disk1"}, timeout=60)
    await qmp.execute("blockdev-del", {"node-name": "vol1"})
    await qmp.execute("object-del", {"id": "sec1"})


async def test_hot_plug_with_chap_over_qmp_unplug_and_replug(image, chap_lun, tmp_path):
    """Attach, write, detach, attach again (new login, same names): the data is there."""
    secret = secret_file(tmp_path, CHAP_SECRET)
    async with run_vm(image, tmp_path, script=HOTPLUG_SCRIPT) as vm:
        qmp = vm.qmp
        await vm.wait_ready()
        await attach(qmp, chap_lun, secret)
        plugged = await vm.wait_for("T:PLUGGED ", 60)
        assert int(plugged.split("T:PLUGGED ", 1)[1].split()[0]) * 512 == LUN_SIZE
        wrote = field(await vm.wait_for("T:WROTE "))
        assert field(await vm.wait_for("T:BACK ")) == wrote
        assert md5(chap_lun.read(RAND_AT * BS, 64 * BS)) == wrote

        await detach(qmp)
        await vm.wait_for("T:UNPLUGGED ", 60)
        nodes = await qmp.execute("query-named-block-nodes")
        assert all(n.get("node-name") != "vol1" for n in nodes)

        await attach(qmp, chap_lun, secret)
        assert field(await vm.wait_for("T:AGAIN ", 60)) == wrote
        assert await vm.wait_command_exit() == 0, vm.diagnostics()
        assert await vm.wait_poweroff() == 0
    chap_lun.assert_target_alive()
