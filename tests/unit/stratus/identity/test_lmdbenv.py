from __future__ import annotations

import os
from pathlib import Path

import pytest

from stratus.identity import IdentityError, IdentityStore, lmdbenv


def test_sharing_is_counted(tmp_path: Path) -> None:
    key, first = lmdbenv.acquire(tmp_path / "e")
    _, second = lmdbenv.acquire(tmp_path / "e")
    assert first is second and first.users == 2
    lmdbenv.release(key, second)
    with first.env.begin() as txn:  # still open
        assert txn.stat(first.dbs["meta"])["entries"] == 0
    lmdbenv.release(key, first)
    assert key not in lmdbenv._open
    _, third = lmdbenv.acquire(tmp_path / "e")
    assert third is not first
    lmdbenv.release(key, third)


def test_a_forked_child_is_told_to_spawn_instead(tmp_path: Path) -> None:
    """LMDB handles must not cross fork(): the child gets a clear error, not a crash."""
    path = tmp_path / "id"
    with IdentityStore(path) as parent:
        parent.create_project("before")
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                IdentityStore(path)
            except IdentityError as exc:
                status = 0 if "forked" in str(exc) else 2
            finally:
                os._exit(status)
        _, wait_status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(wait_status) == 0
        assert [p.name for p in parent.list_projects()] == ["before"]


def test_unopenable_directory_is_an_identity_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(IdentityError):
        IdentityStore(blocker / "id")
