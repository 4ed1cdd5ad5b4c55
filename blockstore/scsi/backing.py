"""The file behind a logical unit: positioned I/O, hole punching, extent maps.

Most calls here may block, so the logical unit runs them in a small thread
pool (``io_pool``) and the event loop never stalls on the disk. The
exceptions are ``read_nowait`` and ``write_cached``, which serve page-cache
hits on the caller's thread (a thread hand-off costs more than a cached
4 KiB copy). Reads fill a caller-supplied buffer (``preadv``) so data-in
needs no copy; FUA and write-through writes go through a second descriptor
opened with O_DSYNC.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10

_IO_THREADS = 4
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_libc_functions: dict[str, Callable[..., int]] = {}
SYNC_FILE_RANGE_WRITE = 0x02
_NO_WRITEBACK = (errno.ENOSYS, errno.EINVAL, errno.ESPIPE, errno.EOPNOTSUPP)


# RWF_NOWAIT: fail with EAGAIN instead of blocking (Linux >= 4.14; 0 disables the fast path).
_RWF_NOWAIT = getattr(os, "RWF_NOWAIT", 0)
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_RUSAGE_THREAD = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
# Buffered writes go to the kernel in pieces of at most this size. The page
# cache sizes a new folio by the write that creates it, and on ext4 every
# later write into a folio walks all of its buffer heads: after 1 MiB writes,
# a 4 KiB overwrite cost 8-24 us of CPU instead of 2-4 (Linux 6.18). Pieces
# of 128 KiB (the default readahead size) keep small overwrites cheap for
# ~35 us more per MiB written.
WRITE_PIECE = 128 * 1024


def voluntary_switches() -> int:
    """How often this thread has slept in the kernel (blocked, not preempted)."""
    return resource.getrusage(_RUSAGE_THREAD).ru_nvcsw


class InlineWriteGuard:
    """Lets buffered writes run on the event loop until they start to block.

    ext4 refuses RWF_NOWAIT for buffered writes (EOPNOTSUPP), so a write on
    the loop is a plain ``pwrite`` into the page cache: a few microseconds,
    unless the kernel throttles a writer that dirties pages faster than
    writeback cleans them, or the journal makes it wait. Every inline write
    is timed. On a busy machine most slow writes were merely preempted (the
    pool would not help those), so a slow write only puts the guard on
    watch: the next ``watch`` writes also count the thread's voluntary
    context switches (a syscall, not paid on the fast path), and one of them
    that is slow *and* slept in the kernel sends writes to the pool for
    ``cooldown_ns``, so a disk under pressure stalls a pool thread, not the
    loop.
    """

    def __init__(
        self,
        slow_ns: int = 2_000_000,
        cooldown_ns: int = 1_000_000_000,
        watch: int = 8,
        clock: Callable[[], int] = time.monotonic_ns,
        switches: Callable[[], int] = voluntary_switches,
    ) -> None:
        self.slow_ns = slow_ns
        self.cooldown_ns = cooldown_ns
        self.watch = watch
        self.clock = clock
        self.switches = switches
        self.tripped = 0  # how many blocking writes closed the inline path
        self._closed_until = 0
        self._watching = 0  # writes left to check for sleeping

    def allows(self) -> bool:
        return not self._closed_until or self.clock() >= self._closed_until

    def begin(self) -> tuple[int, int]:
        """A mark taken just before an inline write, for ``end``."""
        return self.clock(), self.switches() if self._watching else -1

    def end(self, mark: tuple[int, int]) -> None:
        start, switches = mark
        slow = self.clock() - start > self.slow_ns
        if switches < 0:  # not on watch
            if slow:
                self._watching = self.watch
            return
        self._watching -= 1
        if slow and self.switches() > switches:
            self.tripped += 1
            self._watching = 0
            self._closed_until = self.clock() + self.cooldown_ns


def io_pool() -> ThreadPoolExecutor:
    """The process-wide pool that runs blocking LU file I/O (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_IO_THREADS, thread_name_prefix="scsi-io")
        return _pool


def _libc(name: str, *argtypes: type) -> Callable[..., int]:
    """A libc function by name (errno kept for ``ctypes.get_errno``), loaded once."""
    fn = _libc_functions.get(name)
    if fn is None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = getattr(libc, name)
        fn.argtypes = list(argtypes)
        fn.restype = ctypes.c_int
        _libc_functions[name] = fn
    return fn


def _fallocate() -> Callable[..., int]:
    return _libc("fallocate", ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)


def _sync_file_range() -> Callable[..., int]:
    return _libc("sync_file_range", ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)


class BackingFile:
    """An open file of whole logical blocks; all methods block."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool) -> None:
        self.path = os.fspath(path)
        self.read_only = read_only
        self.fd = -1
        self.sync_fd = -1
        self.can_punch = True
        self.nowait_writes = _RWF_NOWAIT != 0
        self.inline_guard = InlineWriteGuard()
        self._probe = memoryview(bytearray(1))
        self.can_zero_range = True
        self.can_writeback = True

    def open(self) -> None:
        flags = os.O_RDONLY if self.read_only else os.O_RDWR
        flags |= os.O_CLOEXEC
        self.fd = os.open(self.path, flags)
        if not self.read_only:
            self.sync_fd = os.open(self.path, flags | os.O_DSYNC)

    def close(self) -> None:
        for fd in (self.fd, self.sync_fd):
            if fd >= 0:
                os.close(fd)
        self.fd = self.sync_fd = -1

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read_into(self, buf: memoryview, offset: int) -> None:
        """Fill ``buf`` from ``offset``; bytes past the end of file read as zeros."""
        done = 0
        total = len(buf)
        while done < total:
            n = os.preadv(self.fd, [buf[done:]], offset + done)
            if n == 0:
                buf[done:] = bytes(total - done)
                return
            done += n

    def read_nowait(self, buf: memoryview, offset: int) -> int:
        """Read what the page cache already holds without blocking; bytes read.

        Lets the event loop serve cached reads itself instead of paying a
        thread hand-off per command; the caller finishes the rest in the pool.
        """
        done = 0
        total = len(buf)
        try:
            while done < total:
                n = os.preadv(self.fd, [buf[done:]], offset + done, _RWF_NOWAIT)
                if n == 0:
                    buf[done:] = bytes(total - done)
                    return total
                done += n
        except (BlockingIOError, OSError):
            pass
        return done

    def write_cached(self, data: memoryview, offset: int) -> int:
        """A buffered write on the caller's thread when it should not block; bytes written.

        RWF_NOWAIT where the filesystem supports it (XFS, btrfs); else (ext4)
        a plain timed ``pwrite``, if the guard allows and no partly written
        page would have to be read from disk first. Returns 0 (or a short
        count) to leave the rest to the pool.
        """
        total = len(data)
        if self.nowait_writes:
            done = self._write_nowait(data, offset)
            if self.nowait_writes:
                return done
        if not self.inline_guard.allows() or not self._edges_cached(offset, offset + total):
            return 0
        mark = self.inline_guard.begin()
        self._pwrite_all(self.fd, data, offset)
        self.inline_guard.end(mark)
        return total

    def _write_nowait(self, data: memoryview, offset: int) -> int:
        done = 0
        total = len(data)
        try:
            while done < total:
                done += os.pwritev(self.fd, [data[done:]], offset + done, _RWF_NOWAIT)
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            self.nowait_writes = False  # this filesystem cannot: stop asking
        return done

    def _edges_cached(self, start: int, end: int) -> bool:
        """Whether the partly covered first and last pages are in the page cache.

        A write that covers a page only in part makes the kernel read the
        rest of it first, from disk when it is not cached.
        """
        for edge in (start, end):
            if edge % PAGE and not self._cached(edge - edge % PAGE):
                return False
        return True

    def _cached(self, offset: int) -> bool:
        if not _RWF_NOWAIT:
            return False  # no way to ask without blocking
        try:
            os.preadv(self.fd, [self._probe], offset, _RWF_NOWAIT)
        except OSError:  # EAGAIN: not cached; anything else: let the pool find out
            return False
        return True

    def write(self, data: memoryview, offset: int, *, sync: bool = False) -> None:
        """Write all of ``data``; ``sync`` makes it durable before returning (FUA).

        A write-through write stays one O_DSYNC call: pieces would each wait
        for the disk.
        """
        if sync:
            self._pwrite_all(self.sync_fd, data, offset, len(data))
        else:
            self._pwrite_all(self.fd, data, offset)

    @staticmethod
    def _pwrite_all(fd: int, data: memoryview, offset: int, piece: int = WRITE_PIECE) -> None:
        done = 0
        total = len(data)
        while done < total:
            done += os.pwritev(fd, [data[done : done + piece]], offset + done)

    def flush(self) -> None:
        os.fdatasync(self.fd)

    def start_writeback(self, offset: int, length: int) -> None:
        """Start writing a dirty range to the disk and return without waiting for it.

        ``sync_file_range(SYNC_FILE_RANGE_WRITE)``: no durability promise (no
        metadata, no cache flush; SYNCHRONIZE CACHE still does ``fdatasync``),
        but the disk works while more data arrives, so the flush that follows
        a sequential stream finds little left to write.
        """
        if not self.can_writeback or self.fd < 0:
            return
        failed = _sync_file_range()(self.fd, offset, length, SYNC_FILE_RANGE_WRITE) != 0
        if failed and ctypes.get_errno() in _NO_WRITEBACK:
            self.can_writeback = False  # the next flush does all the work, as before

    def will_need(self, offset: int, length: int) -> None:
        os.posix_fadvise(self.fd, offset, length, os.POSIX_FADV_WILLNEED)

    def punch(self, offset: int, length: int) -> bool:
        """Deallocate a range (reads back as zeros); False if the filesystem cannot."""
        if length <= 0:
            return True
        if not self.can_punch:
            return False
        if self._fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length):
            return True
        self.can_punch = False
        return False

    def _fallocate(self, mode: int, offset: int, length: int) -> bool:
        if _fallocate()(self.fd, mode, offset, length) == 0:
            return True
        err = ctypes.get_errno()
        if err in (errno.EOPNOTSUPP, errno.ENOSYS):
            return False
        raise OSError(err, os.strerror(err), self.path)

    def zero(self, offset: int, length: int, *, sync: bool = False, unmap: bool = True) -> None:
        """Make a range read as zeros: punch a hole (``unmap``) or zero it in place
        (FALLOC_FL_ZERO_RANGE: allocated, no data written), else write zeros."""
        if unmap and self.punch(offset, length):
            if sync:
                self.flush()
            return
        if not unmap and self.can_zero_range:
            mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE
            if self._fallocate(mode, offset, length):
                if sync:
                    self.flush()
                return
            self.can_zero_range = False
        chunk = memoryview(bytes(min(length, 1 << 20)))
        end = offset + length
        while offset < end:
            n = min(len(chunk), end - offset)
            self.write(chunk[:n], offset, sync=sync)
            offset += n

    def mapped_run(self, offset: int, limit: int) -> tuple[bool, int]:
        """(mapped, end): whether ``offset`` holds data, and where that run ends.

        Uses SEEK_DATA / SEEK_HOLE; a filesystem without them reports all mapped.
        """
        try:
            data = os.lseek(self.fd, offset, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:  # only a hole from here to the end
                return False, limit
            if e.errno == errno.EINVAL:
                return True, limit
            raise
        if data > offset:
            return False, min(data, limit)
        hole = os.lseek(self.fd, offset, os.SEEK_HOLE)
        return True, min(hole, limit)
