"""`Waiting`: a long wait says what it waits for, and shows that it goes on (issue 22)."""

from __future__ import annotations

import pytest

from stratus.cli.waiting import Waiting


def test_in_a_log_the_wait_is_named_then_a_line_every_few_seconds(
    capsys: pytest.CaptureFixture,
) -> None:
    now = [100.0]
    with Waiting(
        "waiting up to 60 s for vm1 to shut down (ACPI)", every=5, clock=lambda: now[0]
    ) as w:
        for _ in range(24):
            now[0] += 0.5
            w.tick()
    assert capsys.readouterr().err.splitlines() == [
        "waiting up to 60 s for vm1 to shut down (ACPI)...",
        "still waiting up to 60 s for vm1 to shut down (ACPI) (5 s so far)",
        "still waiting up to 60 s for vm1 to shut down (ACPI) (10 s so far)",
    ]
    assert w.elapsed == 12.0


def test_quiet_for_scripts(capsys: pytest.CaptureFixture) -> None:
    with Waiting("waiting", quiet=True) as w:
        w.tick()
    assert capsys.readouterr().err == ""
