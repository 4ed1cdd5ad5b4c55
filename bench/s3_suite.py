"""OpenStack Swift's own boto3 S3 suite (``test/s3api``), against Stratus and against Swift.

    .venv/bin/python bench/s3_suite.py [--with-swift] [--swift-version V] [--out FILE]

A conformance measurement, not a Stratus test: the suite is Swift's (written
to run against AWS too, so it asserts AWS's status codes, error codes and
messages), fetched as the ``swift`` sdist from PyPI into ``--cache``. It
runs in the Swift peer's venv (``bench/peers/swift.sh install`` makes it, outside
the repository; the suite imports ``swift.common``), with pytest and boto3
added when missing.

Stratus: a `stratus up` in a temp dir, with the suite's three users made by
the CLI (``test:tester`` admin, ``test2:tester2`` admin, ``test:tester3``
member) and an S3 credential each. Swift (``--with-swift``): the SAIO with
tempauth's users of the same names. Prints one JSON document: passed /
failed / skipped per suite module and in total, for each system, and the
names of the tests that failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from _launch import ROOT, StratusUp, emit
from _peers import CACHE, SWIFT_PYTHON, SWIFT_SH, SwiftPeer

USERS = [("test", "tester", "admin", "testing"), ("test2", "tester2", "admin", "testing2"),
         ("test", "tester3", "member", "testing3")]  # fmt: skip


def fetch_suite(version: str, cache: Path) -> Path:
    """The unpacked sdist of swift ``version`` (downloaded once)."""
    tree = cache / f"swift-{version}"
    if (tree / "test" / "s3api").is_dir():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         f"swift=={version}", "-d", str(cache)],
        check=True, stdout=sys.stderr,
    )  # fmt: skip
    with tarfile.open(cache / f"swift-{version}.tar.gz") as tar:
        tar.extractall(cache, filter="data")
    return tree


def suite_python(python: Path) -> Path:
    """The Swift venv's python (installed by swift.sh when missing), with pytest and boto3."""
    if not python.exists():
        subprocess.run(["bash", str(SWIFT_SH), "install"], check=True, stdout=sys.stderr)
    probe = subprocess.run([str(python), "-c", "import pytest, boto3, swift"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pytest", "boto3"], check=True)
    return python


def run_suite(python: Path, tree: Path, conf: str, label: str, work: Path) -> dict[str, Any]:
    conf_path = work / f"{label}.conf"
    conf_path.write_text(conf)
    junit = work / f"{label}.xml"
    env = {**os.environ, "SWIFT_TEST_CONFIG_FILE": str(conf_path)}
    t0 = time.monotonic()
    subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
         "test/s3api"],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600,
    )  # fmt: skip
    return {**parse_junit(junit), "seconds": round(time.monotonic() - t0, 1)}


def parse_junit(path: Path) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = {}
    failed: list[str] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")[2:3] or ["?"]
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        counts.setdefault(module[0], Counter())[outcome] += 1
        if outcome == "failed":
            failed.append(f"{case.get('classname')}.{case.get('name')}")
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    return {
        "total": dict(total),
        "pass_rate": round(total["passed"] / max(1, total["passed"] + total["failed"]), 3),
        "modules": {m: dict(c) for m, c in sorted(counts.items())},
        "failed_tests": sorted(failed),
    }


def s3_conf(endpoint: str, keys: list[tuple[str, str]]) -> str:
    lines = ["[s3api_test]", f"endpoint = {endpoint}", "region = us-east-1"]
    for i, (access, secret) in enumerate(keys, 1):
        lines += [f"access_key{i} = {access}", f"secret_key{i} = {secret}"]
    return "\n".join(lines) + "\n"


def on_stratus(python: Path, tree: Path, work: Path) -> dict[str, Any]:
    up = StratusUp(work / "stratus-data")
    up.start()
    try:
        env = up.env()

        def cli(*args: str) -> str:
            argv = [sys.executable, "-m", "stratus.cli.main", *args]
            return subprocess.run(
                argv, cwd=ROOT, env=env, check=True, capture_output=True, text=True
            ).stdout

        keys = []
        for project in sorted({u[0] for u in USERS}):
            cli("project", "create", project)
        for project, user, role, key in USERS:
            cli("user", "create", f"{project}:{user}", "--role", role, "--key", key)
            made = json.loads(cli("credentials", "create", "--user", f"{project}:{user}", "--json"))
            keys.append((made["access"], made["secret"]))
        endpoint = f"http://127.0.0.1:{up.other_ports['STRATUS_S3_PORT']}"
        return run_suite(python, tree, s3_conf(endpoint, keys), "stratus", work)
    finally:
        up.stop()


def on_swift(python: Path, tree: Path, work: Path) -> dict[str, Any]:
    with SwiftPeer(nodes=3, replicas=3) as swift:
        keys = [(f"{p}:{u}", k) for p, u, _role, k in USERS]
        return run_suite(python, tree, s3_conf(swift.info["S3_ENDPOINT"], keys), "swift", work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--with-swift", action="store_true", help="also run it against Swift's s3api")
    ap.add_argument("--swift-version", default="2.38.3", help="the swift sdist the suite is from")
    ap.add_argument("--python", default=str(SWIFT_PYTHON), help="the suite's python")
    ap.add_argument("--cache", default=str(CACHE / "s3-suite"), help="where the sdist goes")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    python = suite_python(Path(args.python))
    tree = fetch_suite(args.swift_version, Path(args.cache))
    doc: dict[str, Any] = {
        "bench": "s3-suite/1",
        "suite": f"swift {args.swift_version} test/s3api (boto3)",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with tempfile.TemporaryDirectory(prefix="s3-suite-") as d:
        work = Path(d)
        doc["stratus"] = on_stratus(python, tree, work)
        if args.with_swift:
            doc["swift"] = on_swift(python, tree, work)
    emit(doc, args.out)


if __name__ == "__main__":
    main()
