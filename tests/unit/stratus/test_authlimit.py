"""stratus.authlimit: token buckets of failed authentications per client address."""

from __future__ import annotations

import pytest

from stratus.authlimit import AuthLimits, FailureLimiter, client_key, retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_then_one_back_per_interval() -> None:
    clock = Clock()
    lim = FailureLimiter(AuthLimits(burst=3, per_minute=6), clock=clock)
    assert [lim.charge("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert lim.charge("10.0.0.1") == pytest.approx(10.0)  # nothing paid: still 10 s
    assert lim.retry_after("10.0.0.1") == pytest.approx(10.0)
    assert lim.retry_after("10.0.0.2") == 0.0  # other addresses are not touched
    clock.now += 4
    assert lim.retry_after("10.0.0.1") == pytest.approx(6.0)
    clock.now += 6
    assert lim.charge("10.0.0.1") == 0.0
    assert lim.charge("10.0.0.1") > 0


def test_refund_gives_the_token_back_and_forgets_full_buckets() -> None:
    lim = FailureLimiter(AuthLimits(burst=2, per_minute=1), clock=Clock())
    for _ in range(10):  # good logins cost nothing in the end
        assert lim.charge("10.0.0.1") == 0.0
        lim.refund("10.0.0.1")
    assert len(lim) == 0
    lim.charge("10.0.0.1")
    lim.charge("10.0.0.1")
    lim.refund("10.0.0.1")
    assert len(lim) == 1 and lim.retry_after("10.0.0.1") == 0.0


def test_memory_is_bounded_oldest_forgotten_first() -> None:
    lim = FailureLimiter(AuthLimits(burst=1, per_minute=1, max_clients=100), clock=Clock())
    for i in range(1000):
        lim.charge(f"10.0.{i // 256}.{i % 256}")
    assert len(lim) == 100
    assert lim.retry_after("10.0.3.231") > 0  # the most recent are still remembered
    assert lim.retry_after("10.0.0.0") == 0.0


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("192.0.2.7") == "192.0.2.7"
    lim = FailureLimiter(AuthLimits(burst=1, per_minute=1), clock=Clock())
    lim.charge("2001:db8:1:2::1")
    assert lim.retry_after("2001:db8:1:2::ffff") > 0


def test_disabled_and_invalid() -> None:
    lim = FailureLimiter(AuthLimits(burst=0), clock=Clock())
    assert all(lim.charge("10.0.0.1") == 0.0 for _ in range(100)) and len(lim) == 0
    with pytest.raises(ValueError):
        FailureLimiter(AuthLimits(per_minute=0))
    assert retry_after_header(0.2) == "1" and retry_after_header(9.01) == "10"
