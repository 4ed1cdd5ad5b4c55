"""The per-connection pool of data-out buffers."""

from __future__ import annotations

from blockstore.iscsi.buffers import POOLED_MIN, BufferPool


def test_a_returned_buffer_is_taken_again_for_the_same_size() -> None:
    pool = BufferPool()
    first = pool.take(1 << 20)
    pool.give(first)
    assert pool.idle == 1 << 20
    assert pool.take(1 << 20) is first
    assert pool.idle == 0
    assert pool.take(1 << 20) is not first  # nothing idle: a new one


def test_other_sizes_get_their_own_buffers() -> None:
    pool = BufferPool()
    big = pool.take(1 << 20)
    pool.give(big)
    other = pool.take(512 * 1024)
    assert other is not big and len(other) == 512 * 1024


def test_small_buffers_are_not_kept() -> None:
    pool = BufferPool()
    small = pool.take(POOLED_MIN - 512)
    pool.give(small)
    assert pool.idle == 0
    assert pool.take(POOLED_MIN - 512) is not small


def test_idle_bytes_are_bounded() -> None:
    pool = BufferPool(limit=2 << 20)
    buffers = [pool.take(1 << 20) for _ in range(3)]
    for buf in buffers:
        pool.give(buf)
    assert pool.idle == 2 << 20  # the third was dropped
    pool.clear()
    fresh = pool.take(1 << 20)
    assert pool.idle == 0 and all(fresh is not b for b in buffers)
