"""Suite-wide fixtures."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

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
