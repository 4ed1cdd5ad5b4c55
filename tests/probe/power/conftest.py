"""The power-loss probes put their numbers (seed, cuts, operations, acknowledged writes)
in the terminal summary, so every CI log says what each run checked, passed or not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

REPORTS = pytest.StashKey[list[tuple[str, str]]]()


@pytest.fixture
def power_report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line for the summary (and print it, for ``-s``)."""
    reports = request.config.stash.setdefault(REPORTS, [])

    def add(line: str) -> None:
        reports.append((request.node.nodeid, line))
        print(line)

    return add


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    reports = config.stash.get(REPORTS, [])
    if reports:
        terminalreporter.section("power-loss probes: what each run checked")
        for nodeid, line in reports:
            terminalreporter.write_line(f"{nodeid.split('::', 1)[-1]}: {line}")
