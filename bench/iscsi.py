#!/usr/bin/env python3
"""iSCSI data-path benchmark: Stratus's target vs tgtd vs the raw file, one run.

Every figure goes through a real initiator: ``qemu-img bench`` (QEMU's
libiscsi block driver, the same code a VM's disk uses) against

- ``stratus``: ``stratus target export FILE`` run as a subprocess (LUN 0),
- ``tgtd``: the peer, started by ``../shared/peers/tgt/tgt-up.sh`` (LUN 1),
- ``raw``: the backing file itself, opened with O_DIRECT (``-t none``),

all on the same preallocated file, one after the other. Prints one JSON
document with 4 KiB "random" read/write IOPS at queue depth 1 and 32, 1 MiB
sequential read/write MB/s, the CPU seconds the server spent, and the
stratus/tgtd ratios.

``qemu-img bench`` only strides: request i goes to ``offset + i*step`` modulo
the image size. The 4 KiB tests use a step of an odd number of blocks near
the golden section of the image, so consecutive requests land far apart and
every block is visited once before any repeats: a scrambled walk, not a
random one.

Each test first runs a short calibration and then sizes its request count to
a time budget (``--seconds``), so a slow target cannot make the run endless.

Usage: .venv/bin/python bench/iscsi.py [--quick] [--size 1G] [--only stratus,tgtd,raw]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The peers (Swift, tgtd) live beside the repository, in ../shared/peers; optional.
PEERS = Path(
    os.environ.get("STRATUS_PEERS", Path(__file__).resolve().parents[1].parent / "shared" / "peers")
)
IQN_STRATUS = "iqn.2024-01.org.stratus.bench:vol0"
IQN_TGT = "iqn.2024-01.org.stratus.peer:tgt0"
INITIATOR = "iqn.2024-01.org.stratus.bench:initiator"
TARGETS = ("stratus", "tgtd", "raw")
KiB, MiB = 1024, 1024 * 1024
MAX_OPS = {4 * KiB: 2_000_000, MiB: 32_768}  # hard caps behind the time budget


@dataclass(frozen=True)
class Test:
    name: str
    write: bool
    size: int
    depth: int
    scattered: bool
    unit: str  # "iops" or "mb_s"


# Writes first, so that the reads find written (allocated) blocks.
TESTS = (
    Test("seq_write_1m_mb_s", True, MiB, 8, False, "mb_s"),
    Test("rand_write_4k_qd1_iops", True, 4 * KiB, 1, True, "iops"),
    Test("rand_write_4k_qd32_iops", True, 4 * KiB, 32, True, "iops"),
    Test("seq_read_1m_mb_s", False, MiB, 8, False, "mb_s"),
    Test("rand_read_4k_qd1_iops", False, 4 * KiB, 1, True, "iops"),
    Test("rand_read_4k_qd32_iops", False, 4 * KiB, 32, True, "iops"),
)


class BenchError(Exception):
    """A target could not be started or measured."""


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMGT]?)i?B?", text.strip(), re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 256M, 1G)")
    mult = {"": 1, "K": KiB, "M": MiB, "G": 1024 * MiB, "T": 1024 * 1024 * MiB}
    size = int(m.group(1)) * mult[m.group(2).upper()]
    if size < 64 * MiB or size % MiB:
        raise argparse.ArgumentTypeError("size must be a whole number of MiB, at least 64M")
    return size


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"target exited with status {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise BenchError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def proc_cpu_seconds(pid: int | None) -> float | None:
    """user+system CPU of a process and all its threads, from /proc."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scatter_step(size: int, block: int) -> int:
    """An odd number of blocks near size/phi: a full-cycle, far-jumping stride."""
    blocks = size // block
    n = int(blocks * 0.6180339887) | 1
    while _gcd(n, blocks) != 1:
        n += 2
    return n * block


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


@dataclass
class Target:
    name: str
    image_args: list[str]  # what follows `qemu-img bench [options]`
    server_pid: int | None = None

    def alive(self) -> bool:
        if self.server_pid is None:
            return True
        try:
            stat = Path(f"/proc/{self.server_pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def run_qemu_img(
    target: Target, test: Test, count: int, size: int, timeout: float
) -> tuple[float, float | None, float]:
    """One qemu-img bench run: (seconds of I/O, server CPU s, client CPU s).

    The I/O time is qemu-img's own "Run completed in N seconds", which leaves
    out process start and the iSCSI login; the CPU figures include them.
    """
    argv = ["qemu-img", "bench", "-c", str(count), "-d", str(test.depth)]
    argv += ["-s", str(test.size), "-t", "none"]
    if test.scattered:
        argv += ["-S", str(scatter_step(size, test.size))]
    if test.write:
        argv += ["-w", "--pattern=165"]
    argv += target.image_args
    cpu0 = proc_cpu_seconds(target.server_pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{test.name}: qemu-img bench took over {timeout:.0f} s") from exc
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = proc_cpu_seconds(target.server_pid)
    m = re.search(r"Run completed in ([0-9.]+) seconds", done.stdout)
    if done.returncode != 0 or m is None:
        err = (done.stderr or done.stdout).strip()[-500:]
        raise BenchError(f"{test.name}: qemu-img bench failed ({done.returncode}): {err}")
    client = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    server = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return max(float(m.group(1)), 1e-4), server, client


def measure(target: Target, test: Test, size: int, seconds: float) -> dict:
    """Calibrate, then run ``test`` for about ``seconds``; return its figures."""
    timeout = max(30.0, seconds * 10)
    calib = 128 if test.size == MiB else 1024
    t_calib, _, _ = run_qemu_img(target, test, calib, size, timeout)
    count = int(min(max(seconds * calib / t_calib, calib), MAX_OPS[test.size]))
    elapsed, server, client = run_qemu_img(target, test, count, size, timeout)
    value = count / elapsed if test.unit == "iops" else count * test.size / elapsed / 1e6
    out = {
        "value": round(value, 1),
        "ops": count,
        "seconds": round(elapsed, 3),
        "client_cpu_s": round(client, 3),
    }
    if server is not None:
        out["server_cpu_s"] = round(server, 3)
        out["server_cpu_us_per_op"] = round(server / count * 1e6, 1)
    return out


@contextlib.contextmanager
def raw_target(path: Path) -> Iterator[Target]:
    yield Target("raw", ["-f", "raw", str(path)])


def iscsi_args(port: int, iqn: str, lun: int) -> list[str]:
    opts = (
        f"driver=iscsi,transport=tcp,portal=127.0.0.1:{port},target={iqn},"
        f"lun={lun},initiator-name={INITIATOR}"
    )
    return ["--image-opts", opts]


@contextlib.contextmanager
def tgtd_target(path: Path, workdir: Path) -> Iterator[Target]:
    up, down = PEERS / "tgt" / "tgt-up.sh", PEERS / "tgt" / "tgt-down.sh"
    if not up.exists() or shutil.which("tgtd") is None:
        raise BenchError(f"tgtd or {up} is missing (Debian package tgt)")
    port = free_port()
    ctrl = next(c for c in range(7100, 7300) if not Path(f"/var/run/tgtd/socket.{c}").exists())
    env = dict(
        os.environ, PORT=str(port), CTRL=str(ctrl), IQN=IQN_TGT, BACKING=str(path),
        STATE=str(workdir / "tgt"), BSTYPE="rdwr",
    )  # fmt: skip
    try:
        done = subprocess.run(
            ["bash", str(up)], env=env, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise BenchError(f"tgt-up.sh failed: {done.stderr.strip()[-800:]}")
        pid = int((workdir / "tgt" / "tgtd.pid").read_text())
        wait_port(port, None)
        yield Target("tgtd", iscsi_args(port, IQN_TGT, 1), server_pid=pid)
    finally:
        subprocess.run(["bash", str(down)], env=env, capture_output=True, timeout=60)


def stratus_command() -> list[str]:
    exe = Path(sys.executable).parent / "stratus"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("stratus")
    if found is None:
        raise BenchError("the stratus command is not installed (run from the repo's .venv)")
    return [found]


@contextlib.contextmanager
def stratus_target(path: Path, workdir: Path) -> Iterator[Target]:
    port = free_port()
    argv = [*stratus_command(), "target", "export", str(path)]
    argv += ["--iqn", IQN_STRATUS, "--portal", f"127.0.0.1:{port}"]
    log = (workdir / "stratus-target.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_port(port, proc)
        except BenchError as exc:
            log.flush()
            tail = (workdir / "stratus-target.log").read_text(errors="replace")[-800:]
            raise BenchError(f"{exc}: {tail}") from exc
        yield Target("stratus", iscsi_args(port, IQN_STRATUS, 0), server_pid=proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()


def make_backing(path: Path, size: int) -> None:
    """A fully allocated file: every target then reads and writes real extents."""
    with path.open("wb") as f:
        os.posix_fallocate(f.fileno(), 0, size)


def bench_target(name: str, path: Path, workdir: Path, args: argparse.Namespace) -> dict:
    starters = {
        "raw": lambda: raw_target(path),
        "tgtd": lambda: tgtd_target(path, workdir),
        "stratus": lambda: stratus_target(path, workdir),
    }
    results: dict = {}
    try:
        with starters[name]() as target:
            for test in TESTS:
                if not target.alive():
                    raise BenchError(f"the {name} server process died")
                try:
                    results[test.name] = measure(target, test, args.size, args.seconds)
                    shown = results[test.name]["value"]
                except BenchError as exc:  # one stuck test must not hide the others
                    results[test.name] = {"error": str(exc)}
                    shown = exc
                print(f"  {name} {test.name}: {shown}", file=sys.stderr)
    except BenchError as exc:
        results["error"] = str(exc)
        print(f"  {name}: {exc}", file=sys.stderr)
    return results


def ratios(a: dict, b: dict) -> dict:
    return {
        t.name: round(a[t.name]["value"] / b[t.name]["value"], 3)
        for t in TESTS
        if a.get(t.name, {}).get("value") and b.get(t.name, {}).get("value")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~0.5 s per test instead of ~3 s")
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"), help="LUN size")
    parser.add_argument(
        "--only", default=",".join(TARGETS), help="comma list of " + "|".join(TARGETS)
    )
    parser.add_argument("--seconds", type=float, help="time budget per test (default 3, quick 0.5)")
    parser.add_argument("--dir", type=Path, help="work directory (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    if bad := [t for t in only if t not in TARGETS]:
        parser.error(f"unknown target(s) {bad}; choose from {TARGETS}")
    if args.seconds is None:
        args.seconds = 0.5 if args.quick else 3.0
    if shutil.which("qemu-img") is None:
        parser.error("qemu-img is missing (Debian packages qemu-utils, qemu-block-extra)")
    # SIGTERM must unwind through the finally blocks that stop tgtd and Stratus.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = Path(tempfile.mkdtemp(prefix="stratus-bench-iscsi-", dir=args.dir))
    report: dict = {
        "bench": "iscsi",
        "initiator": "qemu-img bench (QEMU libiscsi driver), cache=none",
        "size_bytes": args.size,
        "seconds_per_test": args.seconds,
        "random_4k": "full-cycle scrambled stride (qemu-img bench -S), not true random",
        "targets": {},
    }
    try:
        backing = workdir / "lun.img"
        make_backing(backing, args.size)
        for name in only:
            print(f"bench: {name}", file=sys.stderr)
            report["targets"][name] = bench_target(name, backing, workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    res = report["targets"]
    if "stratus" in res and "tgtd" in res:
        report["ratio_stratus_over_tgtd"] = ratios(res["stratus"], res["tgtd"])
    if "stratus" in res and "raw" in res:
        report["ratio_stratus_over_raw"] = ratios(res["stratus"], res["raw"])
    print(json.dumps(report, indent=2))
    failed = any("error" in r or any("error" in v for v in r.values()) for r in res.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
