"""libiscsi's conformance suite (``iscsi-test-cu``) against ``stratus target export``.

One run of every family (``-t ALL``, destructive and sanitize tests on, a
second URL to the same LUN through another portal of the same portal group
for the multipath tests) against the target as a separate process on
uvloop. The result is counted per suite: a test that printed ``[SKIPPED]``
counts as skipped (CUnit calls it passed). The test fails when a suite
passes fewer tests than the floor recorded in ``conformance_floor.json``,
when a suite fails more tests than recorded there, or when any iSCSI.*
test fails. Raise the floor as things improve: ``WRITE_CONFORMANCE_FLOOR=1``
rewrites it from the current run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.net import free_port
from tests.helpers.tools import need_tool

FLOOR = Path(__file__).with_name("conformance_floor.json")
IQN = "iqn.2024-01.org.stratus.e2e:conformance"
SIZE = 64 * 1024 * 1024
RUN_TIMEOUT = 240  # the whole run takes about 30 s; a hang must not stall CI

_SUITE = re.compile(r"^Suite: (\S+)")
_TEST = re.compile(r"^  Test: (\S+) \.\.\.")
_RESULT = re.compile(r"(?<![\[\w])(passed|FAILED)(?![\]\w])")


def parse_results(log: str) -> dict[str, dict[str, int]]:
    """Per suite: tests passed, failed and skipped, from a verbose CUnit log."""
    suites: dict[str, dict[str, int]] = {}
    suite, test_text, in_test = None, "", False
    for line in log.splitlines():
        if m := _SUITE.match(line):
            suite = m.group(1)
            suites.setdefault(suite, {"passed": 0, "failed": 0, "skipped": 0})
            in_test = False
            continue
        if m := _TEST.match(line):
            in_test, test_text = True, ""
            line = line[m.end() :]
        if not in_test or suite is None:
            continue
        result = _RESULT.search(line)
        test_text += line[: result.start()] if result else line + "\n"
        if result is None:
            continue
        in_test = False
        if result.group(1) == "FAILED":
            suites[suite]["failed"] += 1
        elif "[SKIPPED]" in test_text:
            suites[suite]["skipped"] += 1
        else:
            suites[suite]["passed"] += 1
    return suites


def totals(suites: dict[str, dict[str, int]]) -> dict[str, int]:
    return {k: sum(s[k] for s in suites.values()) for k in ("passed", "failed", "skipped")}


def render_floor(report: dict) -> str:
    """The floor file: one line per suite, so that a diff shows what moved."""
    rows = [f"    {json.dumps(name)}: {json.dumps(c)}" for name, c in report["suites"].items()]
    body = ",\n".join(rows)
    return f'{{\n  "suites": {{\n{body}\n  }},\n  "totals": {json.dumps(report["totals"])}\n}}\n'


def test_parser_counts_skips_and_failures() -> None:
    log = "\n".join([
        "Suite: Read10",
        "  Test: Simple ...passed",
        "  Test: Odd ...    [SKIPPED] READ10 is not implemented.",
        "    [SKIPPED] READ10 is not implemented.",
        "passed",
        "  Test: Bad ...    [FAILED] READ10 failed with sense",
        "FAILED",
        "    1. test_read10.c:71  - CU_ASSERT_EQUAL(_r,0)",
        "  Test: Noisy ...    [FAILED] expected failure logged",
        "passed    [FAILED] another logged line",
        "Suite: iSCSITMF",
        "  Test: AbortTaskSimpleAsync ...passed",
    ])  # fmt: skip
    assert parse_results(log) == {
        "Read10": {"passed": 2, "failed": 1, "skipped": 1},
        "iSCSITMF": {"passed": 1, "failed": 0, "skipped": 0},
    }


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``stratus target export`` of a thin 64 MiB file on two portals; yields both URLs."""
    need_tool("iscsi-test-cu", "libiscsi-bin")
    backing = tmp_path / "conformance.img"
    with open(backing, "wb") as f:
        f.truncate(SIZE)
    port, port2 = free_port(), free_port()
    stratus = Path(sys.executable).with_name("stratus")
    argv = [str(stratus), "target", "export", str(backing), "--iqn", IQN,
            "--portal", f"127.0.0.1:{port}", "--portal", f"127.0.0.2:{port2}"]  # fmt: skip
    log = (tmp_path / "target.log").open("w+")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while "iscsi://" not in (tmp_path / "target.log").read_text():
            assert proc.poll() is None, (tmp_path / "target.log").read_text()
            assert time.monotonic() < deadline, "target did not start"
            time.sleep(0.05)
        yield f"iscsi://127.0.0.1:{port}/{IQN}/0", f"iscsi://127.0.0.2:{port2}/{IQN}/0"
        assert proc.poll() is None, "the target died during the run"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_conformance_floor(exported: tuple[str, str], tmp_path: Path) -> None:
    argv = ["iscsi-test-cu", "-d", "-S", "-t", "ALL", *exported]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    log = done.stdout + done.stderr
    (tmp_path / "iscsi-test-cu.log").write_text(log)
    suites = parse_results(log)
    report = {"suites": dict(sorted(suites.items())), "totals": totals(suites)}
    print(json.dumps(report["totals"]))
    for name, counts in report["suites"].items():
        print(f"{name:28s} {counts}")
    if os.environ.get("WRITE_CONFORMANCE_FLOOR") == "1":
        FLOOR.write_text(render_floor(report))
    floor = json.loads(FLOOR.read_text())
    problems = []
    for name, want in floor["suites"].items():
        got = suites.get(name)
        if got is None:
            problems.append(f"{name}: suite did not run")
            continue
        if got["passed"] < want["passed"]:
            problems.append(f"{name}: {got['passed']} passed < floor {want['passed']}")
        if got["failed"] > want["failed"]:
            problems.append(f"{name}: {got['failed']} failed > floor {want['failed']}")
    for name, got in suites.items():
        if name.startswith("iSCSI") and got["failed"]:
            problems.append(f"{name}: iSCSI tests failed ({got['failed']})")
    if totals(suites)["passed"] < floor["totals"]["passed"]:
        problems.append(f"total passed {totals(suites)['passed']} < {floor['totals']['passed']}")
    assert not problems, "\n".join(problems) + "\n\n" + log[-3000:]
