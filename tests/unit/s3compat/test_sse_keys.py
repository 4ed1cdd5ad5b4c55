"""The cluster's SSE-S3 key file: made private on first use, rotated, refused when exposed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from s3compat.sse_keys import KeyRing
from stratus.config import ConfigError


def test_made_on_first_use_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sse-keys.toml"
    ring = KeyRing(path)
    assert ring.describe() == (None, [])
    kid, key = ring.active()
    assert (kid, len(key)) == ("1", 32)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyRing(path).active() == (kid, key)  # another process reads the same key


def test_rotation_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    ring = KeyRing(path)
    _kid, first = ring.active()
    other = KeyRing(path)  # e.g. a running proxy
    assert other.active()[0] == "1"
    assert ring.rotate() == "2"
    assert other.active()[0] == "2"  # noticed without a restart
    assert other.get("1") == first
    assert ring.describe() == ("2", ["1", "2"])


def test_exposed_or_broken_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    KeyRing(path).active()
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        KeyRing(path).active()
    path.write_text('version = 1\nactive = "9"\n[keys]\n')
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="active key"):
        KeyRing(path).get("9")
