"""The commands `stratus up` suggests name what they run by a path that works from here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stratus.cli import hints

BIN = Path(sys.executable).parent


def test_below_the_current_directory_the_path_is_relative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BIN.parent)
    assert hints.installed("stratus") == f"{BIN.name}/stratus"
    monkeypatch.chdir(BIN)
    assert hints.installed("stratus") == "./stratus"


def test_elsewhere_the_path_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert hints.installed("stratus") == str(BIN.absolute() / "stratus")
    assert hints.installed("no-such-command") is None
    assert hints.stratus("my config.toml").endswith("/stratus --config 'my config.toml'")


def test_s3_line_carries_the_real_secret_and_region() -> None:
    line = hints.s3("http://127.0.0.1:9000", "AKID", "s3cr/t+x", "eu-west-1")
    if line is None:
        pytest.skip("neither aws nor s3cmd is installed")
    assert "s3cr/t+x" in line and "AKID" in line and "eu-west-1" in line and "..." not in line


def test_an_unknown_key_is_the_variable_that_fixed_it() -> None:
    line = hints.swift("http://127.0.0.1:8080/auth/v1.0", "admin:admin", None)
    assert line is not None and '"$STRATUS_ADMIN_KEY"' in line
