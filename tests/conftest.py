"""Suite-wide fixtures."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import parallel

# Fuzz tests (test_fuzz_*.py) run a small budget by default; a longer run:
# `STRATUS_FUZZ_EXAMPLES=100000 scripts/test.sh tests/unit -k fuzz` (see tests/helpers/fuzz.py).
if os.environ.get("STRATUS_FUZZ_EXAMPLES"):
    settings.register_profile(
        "fuzz",
        max_examples=int(os.environ["STRATUS_FUZZ_EXAMPLES"]),
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    settings.load_profile("fuzz")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Keep a developer's STRATUS_* settings out of the tests."""
    for key in list(os.environ):
        # STRATUS_POWER_SEED / _CUTS are the power-loss probes' own knobs (tests/probe/power).
        if (
            key.startswith("STRATUS_")
            and key != "STRATUS_REQUIRE_TOOLS"
            and key != "STRATUS_ARTIFACTS"  # where browser tests put their screenshots
            and not key.startswith("STRATUS_POWER_")
        ):
            monkeypatch.delenv(key)
    yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (scripts/test.sh): the longest groups first (tests/helpers/parallel.py)."""
    parallel.arrange(config, items)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, when it is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: the groups of tests/helpers/parallel.py, one worker each."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return parallel.scheduler(config, log)


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outside pytest-timeout: waiting is not the test's
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """A test that boots TCG guests waits for a VM slot first (parallel.VM_SLOTS at once)."""
    if not parallel.boots_vms(item):
        return (yield)
    with parallel.vm_slot(item.config):
        return (yield)


_power_lines: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the power-loss probes' lines (tests/probe/power), also from xdist workers."""
    if report.when == "teardown":
        _power_lines.extend(str(v) for k, v in report.user_properties if k == parallel.POWER_REPORT)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _power_lines:
        terminalreporter.section("power-loss probes: what each run checked")
        for line in _power_lines:
            terminalreporter.write_line(line)
