"""The data-privacy rule: private directories, and the start-up check's findings."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stratus import private


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_private_dir_makes_missing_parents_0700_too(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        made = private.private_dir(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    assert made.is_dir()
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", made)] == [0o700] * 3


def test_check_finds_an_open_file_deep_down_and_names_the_fix(tmp_path: Path) -> None:
    root = private.private_dir(tmp_path / "data")
    deep = private.private_dir(root / "x" / "y")
    leaked = deep / "secrets"
    leaked.write_text("s")
    leaked.chmod(0o600)
    private.check_private(root)
    leaked.chmod(0o640)
    with pytest.raises(private.ExposedData) as err:
        private.check_private(root)
    assert f"data file {leaked} is open to other local users (mode 0640)" in str(err.value)
    assert str(err.value).endswith(f"chmod -R go-rwx {root}")


def test_check_ignores_symlinks_and_a_missing_root(tmp_path: Path) -> None:
    private.check_private(tmp_path / "absent")
    root = private.private_dir(tmp_path / "data")
    (root / "link").symlink_to("/etc/hostname")
    private.check_private(root)


def test_check_stops_after_its_limit(tmp_path: Path) -> None:
    root = private.private_dir(tmp_path / "data")
    for i in range(5):
        f = root / f"f{i}"
        f.write_text("")
        f.chmod(0o600)
    (root / "f4").chmod(0o644)
    private.check_private(root, limit=2)  # looked at the root and one file only
    with pytest.raises(private.ExposedData):
        private.check_private(root)


def test_service_start_sets_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        private.service_start(tmp_path / "svc")
        (tmp_path / "svc" / "new").write_text("x")
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(old)
    assert mode(tmp_path / "svc") == 0o700 and mode(tmp_path / "svc" / "new") == 0o600
