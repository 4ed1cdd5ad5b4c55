"""The core's reading of a version's retention entries (objectstore.common.retention)."""

from __future__ import annotations

from objectstore.common import retention


def test_retained_until_the_date_or_while_held() -> None:
    until = {retention.RETAIN_UNTIL: "1000.500"}
    assert retention.retained(until, now=1000.0)
    assert not retention.retained(until, now=1000.5)  # the date itself: free
    assert retention.retained({retention.LEGAL_HOLD: "ON"}, now=0)
    assert not retention.retained({retention.LEGAL_HOLD: "OFF"}, now=0)
    assert not retention.retained({}, now=0)


def test_unreadable_dates_hold_nothing() -> None:
    for raw in ("", "soon", "nan", "inf"):
        assert retention.retain_until({retention.RETAIN_UNTIL: raw}) is None


def test_node_records_carry_the_proxy_prefix() -> None:
    stored = {"s:" + retention.RETAIN_UNTIL: "2000", "m:" + retention.LEGAL_HOLD: "ON"}
    assert retention.node_retained(stored, now=1999)
    assert not retention.node_retained(stored, now=2001)  # user metadata holds nothing
