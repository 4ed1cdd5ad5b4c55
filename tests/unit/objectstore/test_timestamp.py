"""Timestamps: exact ticks, Swift's normal form, ordering."""

from __future__ import annotations

import pytest

from objectstore.timestamp import Timestamp


def test_normal_form_and_parsing() -> None:
    ts = Timestamp("1700000000.12345")
    assert ts.normal == "1700000000.12345" and str(ts) == ts.normal
    assert Timestamp(1.5).normal == "0000000001.50000"
    assert Timestamp("12.5").ticks == 1_250_000
    assert Timestamp(ts) == ts and Timestamp.from_ticks(ts.ticks) == ts
    assert Timestamp("1700000000.1").isoformat == "2023-11-14T22:13:20.100000"


def test_ordering_is_exact() -> None:
    a, b = Timestamp("1700000000.00001"), Timestamp("1700000000.00002")
    assert a < b and b > a and a <= a and a != b and len({a, Timestamp(a)}) == 1
    assert a.normal < b.normal  # the string form sorts like the number


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1e30", "nan", "inf", "1.123456x"])
def test_bad_timestamps(bad: str) -> None:
    with pytest.raises((ValueError, OverflowError)):
        Timestamp(bad)


def test_now_moves_forward() -> None:
    assert Timestamp.now() >= Timestamp("1700000000")
