#!/usr/bin/env python3
"""iSCSI data-path benchmark: Stratus's target vs tgtd vs the raw file, one run.

Every figure goes through a real initiator: ``qemu-img bench`` (QEMU's
libiscsi block driver, the same code a VM's disk uses) against

- ``stratus``: ``stratus target export FILE`` run as a subprocess (LUN 0),
- ``tgtd``: the peer (bench/peers/tgt.sh, Debian ``tgt``, LUN 1) offering the
  same iSCSI session parameters as Stratus's target (256 KiB data segments,
  1 MiB bursts, ImmediateData=Yes, InitialR2T=No, 8 outstanding R2Ts: read
  from ``blockstore.iscsi.negotiate.TargetLimits``),
- ``tgtd_default``: the same tgtd left at its own defaults (8 KiB segments,
  InitialR2T=Yes, one R2T, 256 KiB bursts),
- ``raw``: the backing file itself, opened with O_DIRECT (``-t none``),

all on the same preallocated file, one after the other. Prints one JSON
document with 4 KiB "random" read/write IOPS at queue depth 1 and 32, 1 MiB
sequential read/write MB/s, writes with a flush every 16 MiB (the same for
every target), the CPU seconds the server spent, and the ratios of targets
that use the same I/O mode (the iSCSI targets go through the page cache, raw
does not: no ratio over raw).

``qemu-img bench`` only strides: request i goes to ``offset + i*step`` modulo
the image size. The 4 KiB tests use a step of an odd number of blocks near
the golden section of the image, so consecutive requests land far apart and
every block is visited once before any repeats: a scrambled walk, not a
random one.

Each test first runs a short calibration and then sizes its request count to
a time budget (``--seconds``), so a slow target cannot make the run endless.
``--uncached`` drops the backing file's cached pages before every test, so
reads come from the disk; ``--big-lun`` makes the LUN twice the memory the
page cache could use (MemAvailable) and fills it with data first.

``--pairs N`` runs every target N times, alternating (A B A B ...), each run
with a fresh server; every figure is then the median of the N runs, with
min, max and each run's value beside it, and the ratios are of medians.
``--tests`` picks a subset of the tests by name (a substring matches).

Usage: .venv/bin/python bench/iscsi.py [--quick] [--size 1G] [--uncached] [--big-lun]
                                       [--only stratus,tgtd,tgtd_default,raw] [--pairs N]
                                       [--tests NAME,...]
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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _peers import CACHE, TGT_SH, key_values

from blockstore.iscsi.negotiate import TargetLimits

IQN_STRATUS = "iqn.2024-01.org.stratus.bench:vol0"
IQN_TGT = "iqn.2024-01.org.stratus.peer:tgt0"
INITIATOR = "iqn.2024-01.org.stratus.bench:initiator"
TARGETS = ("stratus", "tgtd", "tgtd_default", "raw", "stratus_base")
IO_MODE = {"stratus": "page cache", "tgtd": "page cache", "tgtd_default": "page cache",
           "raw": "O_DIRECT", "stratus_base": "page cache"}  # fmt: skip
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
    flush_every: int = 0  # requests between flushes (qemu-img bench --flush-interval)


FLUSH_BYTES = 16 * MiB
# Writes first, so that the reads find written (allocated) blocks.
TESTS = (
    Test("seq_write_1m_mb_s", True, MiB, 8, False, "mb_s"),
    Test("seq_write_1m_flush16m_mb_s", True, MiB, 8, False, "mb_s", FLUSH_BYTES // MiB),
    Test("rand_write_4k_qd1_iops", True, 4 * KiB, 1, True, "iops"),
    Test("rand_write_4k_qd32_iops", True, 4 * KiB, 32, True, "iops"),
    Test(
        "rand_write_4k_qd32_flush16m_iops", True, 4 * KiB, 32, True, "iops", FLUSH_BYTES // KiB // 4
    ),
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
    if test.flush_every:
        argv += [f"--flush-interval={test.flush_every}"]
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
    calib = max(128 if test.size == MiB else 1024, 2 * test.flush_every)
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


def session_params(tuned: bool) -> str:
    """tgt.sh's PARAMS: Stratus's target's offers (tuned), or nothing (tgtd's defaults)."""
    if not tuned:
        return ""
    lim = TargetLimits()
    yes_no = {True: "Yes", False: "No"}
    return " ".join(
        f"{k}={v}"
        for k, v in (
            ("MaxRecvDataSegmentLength", lim.max_recv_data_segment_length),
            # Stratus sends Data-In as large as the initiator accepts; tgtd caps them at this
            ("MaxXmitDataSegmentLength", lim.max_recv_data_segment_length),
            ("MaxBurstLength", lim.max_burst_length),
            ("FirstBurstLength", lim.first_burst_length),
            ("MaxOutstandingR2T", lim.max_outstanding_r2t),
            ("InitialR2T", yes_no[lim.initial_r2t]),
            ("ImmediateData", yes_no[lim.immediate_data]),
        )
    )


@contextlib.contextmanager
def tgtd_target(path: Path, workdir: Path, *, tuned: bool) -> Iterator[Target]:
    if not TGT_SH.exists():
        raise BenchError(f"{TGT_SH} is missing")
    port = free_port()
    env = dict(
        os.environ, PORT=str(port), IQN=IQN_TGT, BACKING=str(path), BSTYPE="rdwr",
        STATE=str(workdir / f"tgt-{port}"), STRATUS_BENCH_CACHE=str(CACHE),
        PARAMS=session_params(tuned),
    )  # fmt: skip
    try:
        done = subprocess.run(
            ["bash", str(TGT_SH), "up"], env=env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise BenchError(f"tgt.sh up failed: {done.stderr.strip()[-800:]}")
        pid = int(key_values(done.stdout)["TGT_PID"])
        wait_port(port, None)
        name = "tgtd" if tuned else "tgtd_default"
        yield Target(name, iscsi_args(port, IQN_TGT, 1), server_pid=pid)
    finally:
        subprocess.run(["bash", str(TGT_SH), "down"], env=env, capture_output=True, timeout=60)


def stratus_command() -> list[str]:
    exe = Path(sys.executable).parent / "stratus"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("stratus")
    if found is None:
        raise BenchError("the stratus command is not installed (run from the repo's .venv)")
    return [found]


@contextlib.contextmanager
def stratus_target(path: Path, workdir: Path, source: Path | None = None) -> Iterator[Target]:
    """Stratus's target; ``source``: a tree whose packages come first on the import path."""
    port = free_port()
    argv = [*stratus_command(), "target", "export", str(path)]
    argv += ["--iqn", IQN_STRATUS, "--portal", f"127.0.0.1:{port}"]
    env = None
    if source is not None:
        env = dict(os.environ, PYTHONPATH=str(source))
    log = (workdir / "stratus-target.log").open("wb")
    # A session of its own, as tgtd has (it daemonizes): with the kernel's autogroup
    # scheduling each session shares the CPU as one group, and a target left in the
    # bench's session would share its part with the initiator it serves.
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    try:
        try:
            wait_port(port, proc)
        except BenchError as exc:
            log.flush()
            tail = (workdir / "stratus-target.log").read_text(errors="replace")[-800:]
            raise BenchError(f"{exc}: {tail}") from exc
        name = "stratus" if source is None else "stratus_base"
        yield Target(name, iscsi_args(port, IQN_STRATUS, 0), server_pid=proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()


def make_backing(path: Path, size: int, fill: bool) -> None:
    """A fully allocated file: every target then reads and writes real extents.

    ``fill`` writes data over all of it (fsynced), so reads anywhere read the disk.
    """
    with path.open("wb") as f:
        os.posix_fallocate(f.fileno(), 0, size)
        if fill:
            chunk = os.urandom(4 * MiB)
            t0 = time.monotonic()
            for _ in range(size // len(chunk)):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
            print(f"  filled {size >> 30} GiB in {time.monotonic() - t0:.0f} s", file=sys.stderr)


def drop_cached(path: Path) -> None:
    """Write the backing file's dirty pages out and evict its cached ones (this file only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def page_cache_bytes() -> int:
    """MemAvailable: about what the page cache could grow to."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * KiB
    raise BenchError("no MemAvailable in /proc/meminfo")


def bench_target(
    name: str, path: Path, workdir: Path, args: argparse.Namespace, tests: tuple[Test, ...]
) -> dict:
    starters = {
        "raw": lambda: raw_target(path),
        "tgtd": lambda: tgtd_target(path, workdir, tuned=True),
        "tgtd_default": lambda: tgtd_target(path, workdir, tuned=False),
        "stratus": lambda: stratus_target(path, workdir),
        "stratus_base": lambda: stratus_target(path, workdir, args.baseline),
    }
    results: dict = {}
    try:
        with starters[name]() as target:
            for test in tests:
                if not target.alive():
                    raise BenchError(f"the {name} server process died")
                if args.uncached:
                    drop_cached(path)
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


_SPREAD_KEYS = ("value", "server_cpu_us_per_op")


def combine(runs: list[dict]) -> dict:
    """One target's runs (one dict per pair) as one: per test the median of each figure,
    with ``value_min``, ``value_max`` and ``runs`` (each run's value and CPU per op)."""
    if len(runs) == 1:
        return runs[0]
    out: dict = {}
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        out["error"] = errors[0]
    names = [t for t in runs[0] if t != "error"]
    for name in names:
        ok = [r[name] for r in runs if isinstance(r.get(name), dict) and "value" in r[name]]
        if not ok:
            out[name] = {"error": next((r[name]["error"] for r in runs if name in r), "no runs")}
            continue
        entry: dict = {}
        for key in ("value", "server_cpu_us_per_op", "client_cpu_s", "seconds"):
            vals = [r[key] for r in ok if key in r]
            if vals:
                entry[key] = round(statistics.median(vals), 3)
        entry["value_min"] = min(r["value"] for r in ok)
        entry["value_max"] = max(r["value"] for r in ok)
        entry["runs"] = [{k: r[k] for k in _SPREAD_KEYS if k in r} for r in ok]
        if len(ok) < len(runs):
            entry["failed_runs"] = len(runs) - len(ok)
        out[name] = entry
    return out


def ratios(a: dict, b: dict) -> dict:
    """a over b per test; only call it for targets with the same I/O mode."""
    return {
        t.name: round(a[t.name]["value"] / b[t.name]["value"], 3)
        for t in TESTS
        if a.get(t.name, {}).get("value") and b.get(t.name, {}).get("value")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~0.5 s per test instead of ~3 s")
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"), help="LUN size")
    parser.add_argument(
        "--only", default=",".join(TARGETS[:4]), help="comma list of " + "|".join(TARGETS)
    )
    parser.add_argument("--seconds", type=float, help="time budget per test (default 3, quick 0.5)")
    parser.add_argument("--dir", type=Path, help="work directory (default: a fresh temp dir)")
    parser.add_argument(
        "--uncached", action="store_true", help="evict the LUN file's cached pages before each test"
    )
    parser.add_argument(
        "--big-lun",
        action="store_true",
        help="LUN of twice MemAvailable (at least --size), filled with data first",
    )
    parser.add_argument(
        "--pairs", type=int, default=1, help="runs of each target, alternating (default 1)"
    )
    parser.add_argument("--tests", default="", help="comma list of test names (substrings)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree (e.g. `git archive` of an earlier commit) run as target stratus_base",
    )
    args = parser.parse_args(argv)
    if "stratus_base" in args.only and args.baseline is None:
        parser.error("stratus_base needs --baseline DIR")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    wanted = [w.strip() for w in args.tests.split(",") if w.strip()]
    tests = tuple(t for t in TESTS if not wanted or any(w in t.name for w in wanted))
    if not tests:
        parser.error(f"no test matches {args.tests!r}; tests: {[t.name for t in TESTS]}")
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    if bad := [t for t in only if t not in TARGETS]:
        parser.error(f"unknown target(s) {bad}; choose from {TARGETS}")
    if args.seconds is None:
        args.seconds = 0.5 if args.quick else 3.0
    if shutil.which("qemu-img") is None:
        parser.error("qemu-img is missing (Debian packages qemu-utils, qemu-block-extra)")
    # SIGTERM must unwind through the finally blocks that stop tgtd and Stratus.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args.big_lun:
        args.size = max(args.size, -(-2 * page_cache_bytes() // (1 << 30)) << 30)
    workdir = Path(tempfile.mkdtemp(prefix="stratus-bench-iscsi-", dir=args.dir))
    report: dict = {
        "bench": "iscsi/2",
        "initiator": "qemu-img bench (QEMU libiscsi driver), cache=none",
        "size_bytes": args.size,
        "filled": args.big_lun,
        "uncached_before_each_test": args.uncached,
        "seconds_per_test": args.seconds,
        "pairs": args.pairs,
        "figures": "median of the pairs (value_min, value_max, runs beside it)"
        if args.pairs > 1
        else "one run",
        "flush": f"the *_flush16m tests flush every {FLUSH_BYTES >> 20} MiB, on every target",
        "random_4k": "full-cycle scrambled stride (qemu-img bench -S), not true random",
        "io_mode": {name: IO_MODE[name] for name in only},
        "tgtd_session_params": {"tgtd": session_params(True), "tgtd_default": "tgtd defaults"},
        "targets": {},
    }
    try:
        backing = workdir / "lun.img"
        if shutil.disk_usage(workdir).free < args.size + (1 << 30):
            raise SystemExit(f"no room under {workdir} for a {args.size >> 30} GiB LUN")
        make_backing(backing, args.size, fill=args.big_lun)
        runs: dict[str, list[dict]] = {name: [] for name in only}
        for pair in range(args.pairs):
            for name in only:
                print(f"bench: {name} (run {pair + 1} of {args.pairs})", file=sys.stderr)
                runs[name].append(bench_target(name, backing, workdir, args, tests))
        report["targets"] = {name: combine(r) for name, r in runs.items()}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    res = report["targets"]
    if "stratus_base" in res and "stratus" in res:
        report["ratio_stratus_over_stratus_base"] = ratios(res["stratus"], res["stratus_base"])
    for other in res:  # a ratio only between targets with the same I/O mode
        ours = other in ("stratus", "stratus_base")
        if "stratus" in res and not ours and IO_MODE[other] == IO_MODE["stratus"]:
            report[f"ratio_stratus_over_{other}"] = ratios(res["stratus"], res[other])
    print(json.dumps(report, indent=2))
    failed = any("error" in r or any("error" in v for v in r.values()) for r in res.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
