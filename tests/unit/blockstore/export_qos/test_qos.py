"""QoS token buckets (blockstore.export.qos) on a fake clock: the delays they ask for."""

from __future__ import annotations

import pytest

from blockstore.export.qos import Limiter, TokenBucket, io_kind


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_a_burst_then_paces() -> None:
    clock = Clock()
    bucket = TokenBucket(10, clock)
    assert [bucket.take(1) for _ in range(10)] == [0.0] * 10  # one second banked
    assert bucket.take(1) == pytest.approx(0.1)
    assert bucket.take(1) == pytest.approx(0.2)  # later callers wait behind earlier ones
    clock.t = 1.0
    assert bucket.take(1) == 0.0  # refilled (capped at one second's worth)


def test_oversized_request_waits_for_its_debt_only() -> None:
    bucket = TokenBucket(1000, Clock())
    assert bucket.take(3000) == pytest.approx(2.0)


def test_limiter_applies_total_and_per_direction_limits() -> None:
    clock = Clock()
    lim = Limiter([("total_iops_sec", 2), ("write_bytes_sec", 1000), ("bogus", 5)], clock=clock)
    assert lim.limits == {"total_iops_sec": 2, "write_bytes_sec": 1000}
    assert lim.delay("read", 10_000) == 0.0  # reads have no byte limit here
    assert lim.delay("write", 3000) == pytest.approx(2.0)  # the byte debt dominates
    assert lim.delay("read", 0) == pytest.approx(0.5)  # third command in the same second


def test_empty_limiter_is_false_and_zero_means_unlimited() -> None:
    assert not Limiter([("total_iops_sec", 0)])
    assert Limiter([("read_iops_sec", 1)])


async def test_admit_sleeps_for_the_delay() -> None:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    lim = Limiter([("total_iops_sec", 1)], clock=Clock(), sleep=sleep)
    await lim.admit("read", 512)
    await lim.admit("write", 512)
    assert slept == [pytest.approx(1.0)]


def test_only_reads_and_writes_are_throttled() -> None:
    assert io_kind(bytes([0x28]) + bytes(9)) == "read"
    assert io_kind(bytes([0x8A]) + bytes(15)) == "write"
    assert io_kind(bytes([0x12]) + bytes(5)) is None  # INQUIRY
    assert io_kind(b"") is None
