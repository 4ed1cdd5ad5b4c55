"""Data-out buffers reused within one connection.

A fresh ``bytearray`` of 1 MiB costs a zeroing pass and, because the
allocator maps large blocks anew, a page fault per page on first touch;
profiled under sequential 1 MiB writes it was about a sixth of the target's
CPU. A write's buffer is handed back once the command has finished with it
(never after an abort, when a pool thread may still be reading it), and the
next command of the same size takes it. The pool belongs to one connection,
so a buffer only ever carries data of the initiator that sent it, and every
command that reaches the logical unit has had its whole buffer overwritten
by data-out first (a short transfer ends in CHECK CONDITION before that).
"""

from __future__ import annotations

POOLED_MIN = 64 * 1024  # smaller buffers are cheap to allocate
IDLE_LIMIT = 4 * 1024 * 1024  # idle bytes one connection may keep


class BufferPool:
    """Idle buffers by exact size, at most ``limit`` bytes of them."""

    __slots__ = ("_free", "idle", "limit")

    def __init__(self, limit: int = IDLE_LIMIT) -> None:
        self.limit = limit
        self.idle = 0
        self._free: dict[int, list[bytearray]] = {}

    def take(self, size: int) -> bytearray:
        """A buffer of ``size`` bytes; its content is whatever it last held."""
        if size >= POOLED_MIN:
            free = self._free.get(size)
            if free:
                self.idle -= size
                return free.pop()
        return bytearray(size)

    def give(self, buf: bytearray) -> None:
        """Keep ``buf`` for a later ``take`` (nothing else may still use it)."""
        size = len(buf)
        if size < POOLED_MIN or self.idle + size > self.limit:
            return
        self._free.setdefault(size, []).append(buf)
        self.idle += size

    def clear(self) -> None:
        self._free.clear()
        self.idle = 0
