"""Object store throughput, beside this machine's own limits and (optionally) OpenStack Swift.

    .venv/bin/python bench/objects.py [--api native|s3|both] [--with-swift] [--pairs N] [--quick]

Prints one JSON document:

- ``machine``: what the disk allows without any object store in the way —
  large-file write+fsync MB/s (the median of three runs: this virtual disk
  varies), and 4 KiB file create+write+fsync+rename per second (one writer
  and 16 writers);
- ``stratus``: bench/loadgen.py against a `stratus up` started here in a temp
  dir: 4 KiB PUT/GET ops/s at concurrency 16 and 64, 64 MiB PUT/GET MB/s,
  listing a 10,000-object container, server CPU per operation;
- ``stratus_s3`` (with ``--api s3`` or ``both``): the same workloads through
  the S3 API of the same cluster (loadgen signs SigV4 itself), and with
  ``both`` ``s3_over_native``, so the cost of the S3 dialect shows;
- ``swift`` / ``swift_s3api`` (with ``--with-swift``): the same loadgen against
  OpenStack Swift (an all-in-one started by bench/peers/swift.sh: 3 nodes,
  3 replicas, per-request logging off, background daemons on), through its
  proxy and its s3api middleware, and ``ratios`` / ``ratios_s3``: Stratus over
  Swift for throughput, Swift over Stratus for CPU per operation (above 1 is
  better for Stratus in both), from the medians;
- ``vs_machine``: each system's 64 MiB PUT against the disk. Every replica
  lands on this one disk, so the disk writes ``replicas`` times the client's
  MB/s; ``fraction_of_disk`` is that over ``large_put_shaped_writes``: the
  same bytes written the same way (one writer per replica, 64 MiB files,
  fsync, rename, directory fsync) by plain Python with no server involved.

Each system runs ``--pairs`` times (default 3), alternating A B A B (Stratus,
then Swift), each run on a freshly started cluster and never side by side;
every figure is reported as its median with min, max and all runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _launch import ADMIN_USER, StratusUp, emit
from _peers import BENCH, SwiftPeer

LOADGEN = BENCH / "loadgen.py"
MiB = 1 << 20
REPLICAS = 3  # both clusters here: 3 replicas, every device on the same disk


# ------------------------------------------------------------------ machine limits


def run_writers(writer: Any, writers: int) -> float:
    """Run ``writer(0..writers-1)`` on threads at once; the seconds they took together."""
    t0 = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def large_write_fsync(directory: Path, total: int = 512 * MiB, chunk: int = 4 * MiB) -> float:
    """MB/s of one large file written sequentially and fsynced (the disk's streaming limit)."""
    buf = os.urandom(chunk)
    path = directory / "large.bin"
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(total // chunk):
            os.write(fd, buf)
        os.fsync(fd)
    finally:
        os.close(fd)
    dt = time.perf_counter() - t0
    path.unlink()
    return total / dt / 1e6


def replica_writes(
    directory: Path, *, writers: int = REPLICAS, size: int = 64 * MiB, total: int = 256 * MiB
) -> float:
    """MB/s the disk takes for what a large PUT makes it do, with no object store in the way.

    ``writers`` threads (one per replica) each write ``total`` bytes as files of ``size``:
    1 MiB writes, fsync, rename into place, fsync the directory. The MB/s is of all bytes
    written, the same count as ``replicas`` x the client's MB/s of a PUT.
    """
    buf = os.urandom(MiB)
    directory.mkdir()

    def writer(w: int) -> None:
        sub = directory / f"r{w}"
        sub.mkdir()
        for i in range(total // size):
            tmp = sub / f".tmp{i}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                for _ in range(size // MiB):
                    os.write(fd, buf)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, sub / f"obj{i}")
            dfd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    dt = run_writers(writer, writers)
    shutil.rmtree(directory)
    return writers * (total // size) * size / dt / 1e6


def small_files(directory: Path, *, writers: int, seconds: float = 3.0, cap: int = 20000) -> float:
    """4 KiB files per second, each written to a temp name, fsynced and renamed into place."""
    body = os.urandom(4096)
    directory.mkdir()
    counts = [0] * writers
    stop_at = time.perf_counter() + seconds

    def writer(w: int) -> None:
        sub = directory / f"w{w}"
        sub.mkdir()
        i = 0
        while i < cap // writers and time.perf_counter() < stop_at:
            tmp = sub / f".tmp{i}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, sub / f"obj{i}")
            i += 1
        counts[w] = i

    dt = run_writers(writer, writers)
    return sum(counts) / dt


def machine_limits(base: Path, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=base, prefix="limits-") as d:
        work = Path(d)
        total = (128 if quick else 512) * MiB
        samples = [round(large_write_fsync(work, total), 1) for _ in range(3)]
        replica = [
            round(replica_writes(work / f"rep{i}", total=(64 if quick else 256) * MiB), 1)
            for i in range(3)
        ]
        return {
            "large_write_fsync_MB_per_s": statistics.median(samples),
            "large_write_fsync_MB_per_s_samples": samples,
            "large_put_shaped_writes_MB_per_s": statistics.median(replica),
            "large_put_shaped_writes_MB_per_s_samples": replica,
            "small_file_create_fsync_rename_per_s_1_writer": round(
                small_files(work / "a", writers=1), 1
            ),
            "small_file_create_fsync_rename_per_s_16_writers": round(
                small_files(work / "b", writers=16), 1
            ),
            "filesystem_dir": str(base),
        }


# ------------------------------------------------------------------ loadgen runs


def loadgen(args: list[str], label: str) -> dict[str, Any]:
    cmd = [sys.executable, str(LOADGEN), "--label", label, *args]
    print(f"# loadgen {label}: {' '.join(args)}", file=sys.stderr)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=3600)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"failures": [{"error": f"loadgen exit {proc.returncode}", "out": proc.stdout}]}


def workload_runs(
    auth: list[str], label: str, quick: bool, workloads: list[str]
) -> list[dict[str, Any]]:
    count = "500" if quick else "3000"
    large_total = "128MiB" if quick else "256MiB"
    list_objects = "2000" if quick else "10000"
    docs = [
        loadgen(
            [
                *auth,
                "--workloads", ",".join(workloads),
                "-c", "16", "-n", count,
                "--large-sizes", "64MiB", "--large-total", large_total,
                "--large-concurrency", "2",
                "--list-objects", list_objects, "--list-repeats", "3",
            ],
            f"{label} c16",
        ),
    ]  # fmt: skip
    if "small" in workloads:
        docs.append(
            loadgen([*auth, "--workloads", "small", "-c", "64", "-n", count], f"{label} c64")
        )
    return docs


def summarize(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures worth comparing, keyed like small_put_c16."""
    out: dict[str, Any] = {}
    failures = []
    for doc in docs:
        failures += doc.get("failures", [])
        for r in doc.get("results", []):
            w, op = r.get("workload"), r.get("op")
            if w == "small":
                key = f"small_{op}_c{r['concurrency']}"
                out[key] = {
                    "ops_per_s": r["ops_per_s"],
                    "p50_ms": r["lat_ms"]["p50"],
                    "p99_ms": r["lat_ms"]["p99"],
                    "errors": r["errors"],
                    "server_cpu_ms_per_op": r.get("server_cpu_ms_per_op"),
                    "client_cpu_pct": r.get("client_cpu_pct"),
                }
            elif w == "large":
                out[f"large_{op}_{r['object_size'] // MiB}MiB"] = {
                    "MB_per_s": r["MB_per_s"],
                    "errors": r["errors"],
                    "server_cpu_ms_per_op": r.get("server_cpu_ms_per_op"),
                }
            elif w == "list":
                out["list"] = {
                    "objects": r["objects_listed"],
                    "seconds_median": r["seconds"]["median"],
                    "server_cpu_s_per_listing": r.get("server_cpu_s_per_listing"),
                }
            elif w == "list-fill":
                out["list_fill_put_ops_per_s"] = r["ops_per_s"]
    out["failures"] = failures
    return out


def spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure and metric over repeated runs: median, min, max and every run's value."""
    out: dict[str, Any] = {"runs": len(runs), "failures": [f for r in runs for f in r["failures"]]}
    for key in dict.fromkeys(k for r in runs for k in r):
        values = [r[key] for r in runs if isinstance(r.get(key), dict | int | float)]
        if not values or key == "failures":
            continue
        if not isinstance(values[0], dict):
            out[key] = stats([v for v in values if isinstance(v, int | float)])
            continue
        out[key] = {}
        for metric in dict.fromkeys(m for v in values for m in v):
            nums = [v[metric] for v in values if isinstance(v.get(metric), int | float)]
            if nums:
                out[key][metric] = stats(nums)
    return out


def stats(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 3),
        "min": min(values),
        "max": max(values),
        "all": values,
    }


def medians(agg: dict[str, Any]) -> dict[str, Any]:
    """The medians of a ``spread``, shaped like one run's summary."""
    out: dict[str, Any] = {}
    for key, value in agg.items():
        if isinstance(value, dict) and "median" in value:
            out[key] = value["median"]
        elif isinstance(value, dict):
            out[key] = {m: v["median"] for m, v in value.items()}
    return out


def vs_machine(doc: dict[str, Any]) -> dict[str, Any]:
    """Large PUT MB/s (median) as a fraction of what the disk can take (replicas on one disk)."""
    disk = doc["machine"]["large_put_shaped_writes_MB_per_s"]
    out: dict[str, Any] = {"replicas_on_one_disk": REPLICAS, "disk_MB_per_s": disk}
    for key in SYSTEMS:
        put = medians(doc.get(key, {})).get("large_put_64MiB", {}).get("MB_per_s")
        if put:
            out[key] = {
                "large_put_MB_per_s": put,
                "disk_MB_per_s_written": round(put * REPLICAS, 1),
                "fraction_of_disk": round(put * REPLICAS / disk, 3),
            }
    return out


def ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Throughput: Stratus / Swift. CPU per op and listing time: Swift / Stratus (medians)."""
    ours, theirs = medians(ours), medians(theirs)
    out: dict[str, Any] = {}
    for key, mine in ours.items():
        other = theirs.get(key)
        if not isinstance(mine, dict) or not isinstance(other, dict):
            continue
        for metric in ("ops_per_s", "MB_per_s"):
            if mine.get(metric) and other.get(metric):
                out[f"{key}_{metric}"] = round(mine[metric] / other[metric], 2)
        a, b = mine.get("server_cpu_ms_per_op"), other.get("server_cpu_ms_per_op")
        if a and b:
            out[f"{key}_cpu_per_op_swift_over_stratus"] = round(b / a, 2)
        a, b = mine.get("seconds_median"), other.get("seconds_median")
        if a and b:
            out[f"{key}_time_swift_over_stratus"] = round(b / a, 2)
    return out


# ------------------------------------------------------------------ the two systems

APIS = ("native", "s3")
SYSTEMS = ("stratus", "stratus_s3", "swift", "swift_s3api")
ACCESS, SECRET = "STRBENCHACCESSKEY01", "bench-secret-key-0123456789"


class StratusBenchUp(StratusUp):
    """`stratus up` with a known admin S3 credential, so one cluster serves both APIs."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(STRATUS_ADMIN_ACCESS_KEY=ACCESS, STRATUS_ADMIN_SECRET_KEY=SECRET)
        return env

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.other_ports['STRATUS_S3_PORT']}"


def wait_answering(url: str, timeout: float = 30.0) -> None:
    """Wait until an HTTP server answers at all (an unsigned S3 ListBuckets gets 403)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
            continue
        return
    raise RuntimeError(f"{url} not answering")


def s3_args(endpoint: str, access: str, secret: str) -> list[str]:
    # loadgen signs S3 requests itself (SigV4, UNSIGNED-PAYLOAD): no SDK in the client's cost
    return ["--api", "s3", "--endpoint", endpoint, "--access-key", access, "--secret-key", secret]


def bench_stratus(base: Path, quick: bool, workloads: list[str], apis: list[str]) -> dict[str, Any]:
    """One run of each API on one fresh cluster, keyed stratus (native) and stratus_s3."""
    data = Path(tempfile.mkdtemp(dir=base, prefix="stratus-bench-"))
    up = StratusBenchUp(data / "data")
    out: dict[str, Any] = {}
    try:
        t0 = time.monotonic()
        up.start()
        ready_s = time.monotonic() - t0
        assert up.proc is not None
        pids = ["--server-pids", str(up.proc.pid)]
        if "native" in apis:
            auth = ["--auth-url", up.auth_url, "--user", ADMIN_USER, "--key", up.admin_key, *pids]
            docs = workload_runs(auth, "stratus", quick, workloads)
            out["stratus"] = {"ready_s": round(ready_s, 2), **summarize(docs), "raw": docs}
        if "s3" in apis:
            wait_answering(up.s3_endpoint + "/")
            auth = [*s3_args(up.s3_endpoint, ACCESS, SECRET), *pids]
            docs = workload_runs(auth, "stratus-s3", quick, workloads)
            out["stratus_s3"] = {**summarize(docs), "raw": docs}
        if any(v["failures"] for v in out.values()):  # say why before the data dir goes
            next(iter(out.values()))["failures"].append({"launcher_log_tail": up.log_tail(40)})
    finally:
        up.stop()
        shutil.rmtree(data, ignore_errors=True)
    return out


def bench_swift(quick: bool, workloads: list[str], apis: list[str]) -> dict[str, Any]:
    """The same workloads against a fresh Swift: its proxy (tempauth) and its s3api."""
    out: dict[str, Any] = {}
    with SwiftPeer(nodes=3, replicas=REPLICAS) as swift:
        pids = ["--server-pidfile", swift.pidfile]
        if "native" in apis:
            auth = [
                "--auth-url", swift.info["SWIFT_AUTH_URL"],
                "--user", swift.info["SWIFT_USER"], "--key", swift.info["SWIFT_KEY"], *pids,
            ]  # fmt: skip
            docs = workload_runs(auth, "swift", quick, workloads)
            out["swift"] = {**summarize(docs), "raw": docs}
        if "s3" in apis:
            info = swift.info
            s3 = s3_args(info["S3_ENDPOINT"], info["S3_ACCESS_KEY"], info["S3_SECRET_KEY"])
            docs = workload_runs([*s3, *pids], "swift-s3api", quick, workloads)
            out["swift_s3api"] = {**summarize(docs), "raw": docs}
    return out


def throughput_only(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if not k.endswith("swift_over_stratus")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--with-swift", action="store_true", help="also measure OpenStack Swift")
    ap.add_argument("--pairs", type=int, default=3, help="A B runs of each system (default 3)")
    ap.add_argument("--quick", action="store_true", help="fewer objects (a smoke run)")
    ap.add_argument("--no-stratus", action="store_true", help="machine limits (and Swift) only")
    ap.add_argument(
        "--api",
        choices=["native", "s3", "both"],
        default="native",
        help="which API the load goes through (both: native then S3 on the same cluster)",
    )
    ap.add_argument(
        "--workloads",
        default="small,large,list",
        help="loadgen workloads to run (small also runs at concurrency 64)",
    )
    ap.add_argument("--raw", action="store_true", help="keep loadgen's full output in the JSON")
    ap.add_argument("--dir", default="/var/tmp", help="where temp data goes (a real disk)")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    base = Path(args.dir)
    workloads = [w for w in args.workloads.split(",") if w]
    apis = list(APIS) if args.api == "both" else [args.api]
    doc: dict[str, Any] = {
        "bench": "objects/3",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "apis": apis,
        "pairs": args.pairs,
        "order": "A B A B: each system on a fresh cluster per run, never side by side",
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "machine": machine_limits(base, args.quick),
    }
    runs: dict[str, list[dict[str, Any]]] = {}
    for pair in range(args.pairs):
        print(f"# pair {pair + 1} of {args.pairs}", file=sys.stderr)
        got: dict[str, Any] = {}
        if not args.no_stratus:
            got.update(bench_stratus(base, args.quick, workloads, apis))
        if args.with_swift:
            got.update(bench_swift(args.quick, workloads, apis))
        for key, summary in got.items():
            if not args.raw:
                summary.pop("raw", None)
            runs.setdefault(key, []).append(summary)
    for key, per_run in runs.items():
        doc[key] = spread(per_run)
        if args.raw:
            doc[key]["raw"] = [r.get("raw") for r in per_run]
    if "stratus" in doc and "swift" in doc:
        doc["ratios"] = ratios(doc["stratus"], doc["swift"])
    if "stratus_s3" in doc and "swift_s3api" in doc:
        doc["ratios_s3"] = ratios(doc["stratus_s3"], doc["swift_s3api"])
    if "stratus" in doc and "stratus_s3" in doc:
        doc["s3_over_native"] = throughput_only(ratios(doc["stratus_s3"], doc["stratus"]))
    if "swift" in doc and "swift_s3api" in doc:
        doc["swift_s3api_over_swift"] = throughput_only(ratios(doc["swift_s3api"], doc["swift"]))
    doc["vs_machine"] = vs_machine(doc)
    doc["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    emit(doc, args.out)


if __name__ == "__main__":
    main()
