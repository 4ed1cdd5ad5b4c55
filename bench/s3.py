"""S3 API throughput, beside the same cluster's native API and (optionally) Swift's s3api.

    .venv/bin/python bench/s3.py [--with-swift] [--quick] [--no-native] [--out FILE]

Prints one JSON document:

- ``stratus_s3``: the neutral load generator (objbench.py, its own SigV4
  signer, UNSIGNED-PAYLOAD) against the S3 API of a `stratus up` started
  here in a temp dir: 4 KiB PUT/GET/DELETE ops/s at concurrency 16 and 64,
  64 MiB PUT/GET MB/s, listing a 10,000-object bucket, server CPU per op;
- ``stratus_native`` (unless ``--no-native``): the same workloads through the
  native Swift API of the same cluster, so the cost of the S3 dialect shows;
- ``swift_s3api`` (with ``--with-swift``): the same workloads against
  OpenStack Swift's s3api middleware (an all-in-one started by
  /work/shared/peers/swift/setup.sh), and ``ratios``: Stratus S3 over Swift
  s3api for throughput, Swift over Stratus for CPU per operation (above 1 is
  better for Stratus in both).

Systems are measured one after the other on the same machine, never side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _launch import ADMIN_USER, StratusUp, emit, free_port
from objects import (
    SAIO_ROOT,
    SWIFT_SETUP,
    SWIFT_STOP,
    machine_limits,
    ratios,
    summarize,
    workload_runs,
)

ACCESS, SECRET = "STRBENCHACCESSKEY01", "bench-secret-key-0123456789"


class StratusS3Up(StratusUp):
    """`stratus up` with a known admin S3 credential."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(STRATUS_ADMIN_ACCESS_KEY=ACCESS, STRATUS_ADMIN_SECRET_KEY=SECRET)
        return env

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.other_ports['STRATUS_S3_PORT']}"


def _wait_s3(endpoint: str, timeout: float = 30.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint + "/", timeout=2)
        except urllib.error.HTTPError:
            return  # it answers (403 for an unsigned ListBuckets)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
            continue
        return
    raise RuntimeError(f"S3 API at {endpoint} not answering")


def bench_stratus(base: Path, quick: bool, workloads: list[str], native: bool) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(dir=base, prefix="stratus-s3bench-"))
    up = StratusS3Up(data / "data")
    out: dict[str, Any] = {}
    try:
        up.start()
        assert up.proc is not None
        _wait_s3(up.s3_endpoint)
        pids = ["--server-pids", str(up.proc.pid)]
        s3 = [
            "--api", "s3", "--endpoint", up.s3_endpoint,
            "--access-key", ACCESS, "--secret-key", SECRET, *pids,
        ]  # fmt: skip
        docs = workload_runs(s3, "stratus-s3", quick, workloads)
        out["stratus_s3"] = {**summarize(docs), "raw": docs}
        if native:
            swift = ["--auth-url", up.auth_url, "--user", ADMIN_USER, "--key", up.admin_key, *pids]
            docs = workload_runs(swift, "stratus-native", quick, workloads)
            out["stratus_native"] = {**summarize(docs), "raw": docs}
        if any(v.get("failures") for v in out.values()):
            out["launcher_log_tail"] = up.log_tail(40)
    finally:
        up.stop()
        shutil.rmtree(data, ignore_errors=True)
    return out


def bench_swift_s3api(quick: bool, workloads: list[str]) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "PROXY_PORT": str(port), "NODES": "3", "REPLICAS": "3", "RESET": "1"}
    subprocess.run(["bash", str(SWIFT_SETUP)], env=env, check=True, stdout=sys.stderr)
    try:
        s3 = [
            "--api", "s3", "--endpoint", f"http://127.0.0.1:{port}",
            "--access-key", "test:tester", "--secret-key", "testing",
            "--server-pidfile", str(SAIO_ROOT / "run" / "pids"),
        ]  # fmt: skip
        docs = workload_runs(s3, "swift-s3api", quick, workloads)
    finally:
        subprocess.run(["bash", str(SWIFT_STOP)], env=env, stdout=sys.stderr)
    return {**summarize(docs), "raw": docs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--with-swift", action="store_true", help="also measure Swift's s3api")
    ap.add_argument("--quick", action="store_true", help="fewer objects (a smoke run)")
    ap.add_argument("--no-native", action="store_true", help="skip the native-API comparison")
    ap.add_argument("--no-machine", action="store_true", help="skip the machine limits")
    ap.add_argument("--workloads", default="small,large,list", help="objbench workloads")
    ap.add_argument("--raw", action="store_true", help="keep objbench's full output in the JSON")
    ap.add_argument("--dir", default="/var/tmp", help="where temp data goes (a real disk)")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    base = Path(args.dir)
    workloads = [w for w in args.workloads.split(",") if w]
    doc: dict[str, Any] = {
        "bench": "s3/1",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    if not args.no_machine:
        doc["machine"] = machine_limits(base, args.quick)
    doc.update(bench_stratus(base, args.quick, workloads, not args.no_native))
    if args.with_swift:
        doc["swift_s3api"] = bench_swift_s3api(args.quick, workloads)
        doc["ratios"] = ratios(doc["stratus_s3"], doc["swift_s3api"])
    if "stratus_native" in doc:
        doc["s3_over_native"] = {
            k: v for k, v in ratios(doc["stratus_s3"], doc["stratus_native"]).items()
            if not k.endswith("swift_over_stratus")
        }  # fmt: skip
    if not args.raw:
        for key in ("stratus_s3", "stratus_native", "swift_s3api"):
            if key in doc:
                doc[key].pop("raw", None)
    doc["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    emit(doc, args.out)


if __name__ == "__main__":
    main()
