"""The power-loss probes put their numbers (seed, cuts, operations, acknowledged writes)
in the terminal summary, so every CI log says what each run checked, passed or not.

A line travels as a user property of the test's report (``POWER_REPORT``), which
pytest-xdist carries from the worker to the controller; tests/conftest.py prints them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers.parallel import POWER_REPORT


@pytest.fixture
def power_report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line for the summary (and print it, for ``-s``)."""

    def add(line: str) -> None:
        request.node.user_properties.append((POWER_REPORT, f"{request.node.name}: {line}"))
        print(line)

    return add
