"""BackingFile's inline (event-loop) write path and the guard that closes it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blockstore.scsi.backing import PAGE, BackingFile, InlineWriteGuard


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def backing(tmp_path: Path):
    path = tmp_path / "lun.img"
    path.write_bytes(bytes(max(16 * PAGE, 1 << 20)))
    b = BackingFile(path, read_only=False)
    b.open()
    b.nowait_writes = False  # the plain timed pwrite path, whatever the filesystem
    yield b
    b.close()


def content(b: BackingFile, offset: int, n: int) -> bytes:
    return os.pread(b.fd, n, offset)


class FakeSwitches:
    def __init__(self) -> None:
        self.count = 0
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.count


def write_taking(
    guard: InlineWriteGuard, clock: FakeClock, ns: int, sleeps: FakeSwitches, slept: bool
):
    mark = guard.begin()
    clock.now += ns
    sleeps.count += slept
    guard.end(mark)


def test_guard_closes_when_writes_block_and_reopens_after_the_cooldown() -> None:
    clock, sleeps = FakeClock(), FakeSwitches()
    guard = InlineWriteGuard(
        slow_ns=2_000, cooldown_ns=10_000, watch=2, clock=clock, switches=sleeps
    )
    assert guard.allows()
    write_taking(guard, clock, 1_999, sleeps, slept=True)  # slept, but quickly
    write_taking(guard, clock, 50_000, sleeps, slept=True)  # slow: on watch, no verdict yet
    assert guard.allows() and guard.tripped == 0
    write_taking(guard, clock, 50_000, sleeps, slept=False)  # slow, only preempted
    assert guard.allows() and guard.tripped == 0
    write_taking(guard, clock, 2_001, sleeps, slept=True)  # slow and slept: blocked
    assert not guard.allows() and guard.tripped == 1
    clock.now += 9_999
    assert not guard.allows()
    clock.now += 1
    assert guard.allows()


def test_the_watch_ends_after_fast_writes() -> None:
    clock, sleeps = FakeClock(), FakeSwitches()
    guard = InlineWriteGuard(slow_ns=2_000, watch=2, clock=clock, switches=sleeps)
    write_taking(guard, clock, 5_000, sleeps, slept=True)  # on watch
    write_taking(guard, clock, 10, sleeps, slept=False)
    write_taking(guard, clock, 10, sleeps, slept=False)  # watch over
    write_taking(guard, clock, 5_000, sleeps, slept=True)  # unwatched: puts it on watch again
    assert guard.allows() and guard.tripped == 0
    calls = sleeps.calls
    write_taking(guard, clock, 10, sleeps, slept=False)
    assert sleeps.calls > calls, "on watch, writes count context switches"
    write_taking(guard, clock, 10, sleeps, slept=False)
    calls = sleeps.calls
    write_taking(guard, clock, 10, sleeps, slept=False)
    assert sleeps.calls == calls, "off watch, the fast path makes no syscall"


def test_whole_page_write_is_done_inline(backing: BackingFile) -> None:
    data = memoryview(b"\xa5" * (2 * PAGE))
    assert backing.write_cached(data, 3 * PAGE) == 2 * PAGE
    assert content(backing, 3 * PAGE, 2 * PAGE) == bytes(data)


def test_closed_guard_leaves_the_write_to_the_pool(backing: BackingFile) -> None:
    always_slept = iter(range(1_000_000)).__next__  # every call: one more sleep
    backing.inline_guard = InlineWriteGuard(slow_ns=-1, clock=FakeClock(), switches=always_slept)
    first = memoryview(b"\x01" * PAGE)
    assert backing.write_cached(first, 0) == PAGE  # allowed; "slow": on watch
    assert backing.write_cached(first, 0) == PAGE  # allowed, but it "blocked"
    assert backing.inline_guard.tripped == 1
    assert backing.write_cached(memoryview(b"\x02" * PAGE), PAGE) == 0
    assert content(backing, PAGE, PAGE) == bytes(PAGE), "a refused write must write nothing"
    assert content(backing, 0, PAGE) == bytes(first)


def test_partial_page_write_needs_the_page_cached(backing: BackingFile) -> None:
    os.fdatasync(backing.fd)
    os.posix_fadvise(backing.fd, 0, 0, os.POSIX_FADV_DONTNEED)
    # Asked far from page 4: a RWF_NOWAIT miss starts readahead after the page it asked
    # for, which would otherwise cache page 4 before the write looks.
    if backing._cached(200 * PAGE):
        pytest.skip("this filesystem keeps clean pages cached (tmpfs?)")
    block = memoryview(b"\x5a" * 512)
    assert backing.write_cached(block, 4 * PAGE + 512) == 0  # would read the page from disk
    assert content(backing, 4 * PAGE, PAGE) == bytes(PAGE)  # the read brings the page in
    assert backing.write_cached(block, 4 * PAGE + 512) == 512
    assert content(backing, 4 * PAGE + 512, 512) == bytes(block)


def test_large_write_goes_down_in_pieces_and_lands_whole(backing: BackingFile) -> None:
    from blockstore.scsi.backing import WRITE_PIECE

    size = 2 * WRITE_PIECE + 3 * 512  # pieces, and a short last one
    data = memoryview(bytes((i * 7) & 0xFF for i in range(size)))
    backing.write(data, 512)
    assert content(backing, 512, size) == bytes(data)
    assert content(backing, 0, 512) == bytes(512)
    backing.write(data[:4096], 8192, sync=True)  # write-through: one O_DSYNC call
    assert content(backing, 8192, 4096) == bytes(data[:4096])
