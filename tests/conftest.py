"""Suite-wide fixtures."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Keep a developer's STRATUS_* settings out of the tests."""
    for key in list(os.environ):
        if key.startswith("STRATUS_") and key != "STRATUS_REQUIRE_TOOLS":
            monkeypatch.delenv(key)
    yield
