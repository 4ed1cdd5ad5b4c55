"""The shared error limiter: counting, skipping, forgetting."""

from __future__ import annotations

from collections import namedtuple

from objectstore.common.errorlimit import ErrorLimiter

Dev = namedtuple("Dev", "ip port device")
A = Dev("127.0.0.1", 6200, "d1")
B = Dev("127.0.0.1", 6201, "d1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limited_after_limit_errors_and_only_that_node() -> None:
    clock = Clock()
    lim = ErrorLimiter(3, 60.0, clock=clock)
    for _ in range(2):
        lim.record_error(A)
    assert not lim.is_limited(A)
    lim.record_error(A)
    assert lim.is_limited(A)
    assert not lim.is_limited(B)
    assert lim.errors(A) == 3


def test_limit_expires_after_the_interval() -> None:
    clock = Clock()
    lim = ErrorLimiter(2, 60.0, clock=clock)
    lim.record_error(A)
    lim.record_error(A)
    clock.now += 59
    assert lim.is_limited(A)
    clock.now += 2
    assert not lim.is_limited(A)
    assert lim.errors(A) == 0


def test_old_errors_do_not_add_up() -> None:
    clock = Clock()
    lim = ErrorLimiter(2, 10.0, clock=clock)
    lim.record_error(A)
    clock.now += 11
    lim.record_error(A)
    assert not lim.is_limited(A)
    assert lim.errors(A) == 1


def test_limit_now_and_clear() -> None:
    lim = ErrorLimiter(5, 60.0, clock=Clock())
    lim.limit_now(A, "507")
    assert lim.is_limited(A)
    lim.clear(A)
    assert not lim.is_limited(A)


def test_same_device_on_other_port_is_another_node() -> None:
    lim = ErrorLimiter(1, 60.0, clock=Clock())
    lim.record_error(Dev("127.0.0.1", 6200, "d1"))
    assert lim.is_limited(A)
    assert not lim.is_limited(Dev("127.0.0.1", 6200, "d2"))
