"""The forgetful file system itself: it loses exactly what a power cut may lose."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.lazyfs import PAGE, LazyFS
from tests.probe.power.cluster import need_fuse


@pytest.fixture
def lazy(tmp_path: Path) -> Iterator[tuple[LazyFS, Path]]:
    need_fuse()
    fs = LazyFS(tmp_path / "backing", tmp_path / "mnt", tmp_path / "ctl", tmp_path / "log")
    fs.start()
    try:
        yield fs, tmp_path / "mnt"
    finally:
        fs.stop()


def _write(path: Path, data: bytes, *, sync: bool, flags: int = 0) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o600)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _boot(fs: LazyFS, *, torn: bool = False, seed: int | None = None) -> dict:
    lost = fs.crash(torn=torn, seed=seed)
    fs.start()
    return lost


def test_synced_data_and_names_survive(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    (m / "d").mkdir()
    _write(m / "d" / "f", b"x" * 10000, sync=True)
    _sync_dir(m / "d")
    _sync_dir(m)
    _boot(fs)
    assert (m / "d" / "f").read_bytes() == b"x" * 10000


def test_unsynced_writes_are_lost_and_synced_ones_kept(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    _write(m / "f", b"a" * (3 * PAGE), sync=True)
    _sync_dir(m)
    fd = os.open(m / "f", os.O_RDWR)
    os.pwrite(fd, b"b" * PAGE, PAGE)  # overwrite the middle page
    os.pwrite(fd, b"c" * 100, 3 * PAGE)  # grow
    os.close(fd)
    assert (m / "f").read_bytes()[PAGE : PAGE + 1] == b"b"
    lost = _boot(fs)
    assert (m / "f").read_bytes() == b"a" * (3 * PAGE)
    assert lost["pages_restored"] == 1


def test_unsynced_truncate_is_undone(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    _write(m / "f", bytes(range(256)) * 64, sync=True)
    _sync_dir(m)
    os.truncate(m / "f", 10)
    _boot(fs)
    assert (m / "f").read_bytes() == bytes(range(256)) * 64


def test_o_dsync_writes_are_durable(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    _write(m / "f", b"\0" * (2 * PAGE), sync=True)
    _sync_dir(m)
    fd = os.open(m / "f", os.O_WRONLY | os.O_DSYNC)
    os.pwrite(fd, b"d" * PAGE, 0)
    os.close(fd)
    fd = os.open(m / "f", os.O_WRONLY)
    os.pwrite(fd, b"e" * PAGE, PAGE)
    os.close(fd)
    _boot(fs)
    assert (m / "f").read_bytes() == b"d" * PAGE + b"\0" * PAGE


def test_names_need_an_fsync_of_their_directory(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    _write(m / "kept", b"k", sync=True)
    _sync_dir(m)
    _write(m / "new", b"n", sync=True)  # data synced, name not
    os.rename(m / "kept", m / "moved")  # rename never synced
    (m / "dir").mkdir()
    _write(m / "dir" / "inner", b"i", sync=True)
    _sync_dir(m / "dir")  # inner's name is durable, but dir's own name is not
    _boot(fs)
    assert sorted(os.listdir(m)) == ["kept"]
    assert (m / "kept").read_bytes() == b"k"


def test_unsynced_unlink_and_replacing_rename_come_back(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    _write(m / "a", b"old a", sync=True)
    _write(m / "b", b"old b", sync=True)
    _sync_dir(m)
    os.unlink(m / "a")
    _write(m / "tmp", b"new b", sync=True)
    os.rename(m / "tmp", m / "b")
    _boot(fs)
    assert (m / "a").read_bytes() == b"old a"
    assert (m / "b").read_bytes() == b"old b"
    assert not (m / "tmp").exists()


def test_a_synced_rename_makes_the_new_file_durable(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    (m / "tmp").mkdir()
    (m / "obj").mkdir()
    _sync_dir(m)
    _write(m / "tmp" / "x", b"body", sync=True)
    os.rename(m / "tmp" / "x", m / "obj" / "x")  # write, fsync, rename, fsync dir
    _sync_dir(m / "obj")
    _boot(fs)
    assert (m / "obj" / "x").read_bytes() == b"body"


def test_torn_writes_keep_a_page_aligned_mix(lazy: tuple[LazyFS, Path]) -> None:
    fs, m = lazy
    _write(m / "f", b"o" * (8 * PAGE), sync=True)
    _sync_dir(m)
    fd = os.open(m / "f", os.O_RDWR)
    os.pwrite(fd, b"n" * (8 * PAGE), 0)
    os.close(fd)
    _boot(fs, torn=True, seed=7)
    data = (m / "f").read_bytes()
    pages = {data[i : i + PAGE] for i in range(0, len(data), PAGE)}
    assert pages <= {b"o" * PAGE, b"n" * PAGE}
    assert len(pages) == 2, "seed 7 tears this write"


def test_the_mount_goes_away_when_its_test_dies(tmp_path: Path) -> None:
    """A test killed mid-run (a timeout, a cancelled CI job) leaves no mount behind."""
    need_fuse()
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from tests.helpers.lazyfs import LazyFS\n"
        "LazyFS.under(Path(sys.argv[1])).start()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=root, check=False)
    assert done.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while os.path.ismount(tmp_path / "mnt") and time.monotonic() < deadline:
        time.sleep(0.1)
    mounted = os.path.ismount(tmp_path / "mnt")
    if mounted:
        subprocess.run(["fusermount3", "-u", "-z", str(tmp_path / "mnt")], check=False)
    assert not mounted, "the daemon outlived its test and left its mount"
