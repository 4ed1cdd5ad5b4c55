"""Copying volume files: a reflink where the filesystem can, else a copy that keeps holes.

``clone_file`` first asks for FICLONE (btrfs, XFS with reflink, bcachefs):
the copy shares every extent and costs nothing until either side is
written. Elsewhere (ext4, tmpfs) it walks the source's data extents with
SEEK_DATA / SEEK_HOLE and copies only those with ``copy_file_range`` (in
the kernel, no user-space buffer), so a sparse volume stays sparse.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator

FICLONE = 0x40049409  # _IOW(0x94, 9, int)
_NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}
_STEP = 64 * 1024 * 1024


def try_reflink(src_fd: int, dst_fd: int) -> bool:
    """Make ``dst`` share all of ``src``'s extents; False where unsupported."""
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in _NO_REFLINK:
            return False
        raise
    return True


def data_extents(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of every run of data in the first ``size`` bytes of ``fd``."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole remains
                return
            if exc.errno == errno.EINVAL:  # no SEEK_DATA here: all of it is data
                yield offset, size
                return
            raise
        if start >= size:
            return
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        yield start, end
        offset = end


def copy_range(src_fd: int, dst_fd: int, start: int, end: int) -> None:
    """Copy bytes [start, end) at the same offset, in the kernel when it can."""
    offset = start
    while offset < end:
        want = min(_STEP, end - offset)
        try:
            n = os.copy_file_range(src_fd, dst_fd, want, offset, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            n = _copy_by_hand(src_fd, dst_fd, offset, want)
        if n == 0:  # the source is shorter than it said: the rest stays a hole
            return
        offset += n


def _copy_by_hand(src_fd: int, dst_fd: int, offset: int, length: int) -> int:
    data = os.pread(src_fd, min(length, 8 * 1024 * 1024), offset)
    done = 0
    while done < len(data):
        done += os.pwrite(dst_fd, data[done:], offset + done)
    return len(data)


def clone_file(src_fd: int, dst_fd: int) -> str:
    """Make the (empty) file ``dst_fd`` a copy of ``src_fd``; returns "reflink" or "copy"."""
    size = os.fstat(src_fd).st_size
    if try_reflink(src_fd, dst_fd):
        return "reflink"
    os.ftruncate(dst_fd, size)
    for start, end in data_extents(src_fd, size):
        copy_range(src_fd, dst_fd, start, end)
    return "copy"
