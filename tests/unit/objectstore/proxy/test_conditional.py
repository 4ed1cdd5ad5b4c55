"""The protocol-neutral judgement of HTTP conditions (RFC 9110 order)."""

from __future__ import annotations

from objectstore.proxy.conditional import Verdict, evaluate, http_date

ETAG = "e1"
T = 1_700_000_000.25  # shown as ...:21 (rounded up)
AT, BEFORE = http_date(T), http_date(T - 10)


def test_each_condition_names_itself() -> None:
    assert evaluate(ETAG, T) is None
    assert evaluate(ETAG, T, if_match='"e2"') is Verdict.IF_MATCH
    assert evaluate(ETAG, T, if_unmodified_since=BEFORE) is Verdict.IF_UNMODIFIED_SINCE
    assert evaluate(ETAG, T, if_none_match="*") is Verdict.IF_NONE_MATCH
    assert evaluate(ETAG, T, if_modified_since=AT) is Verdict.IF_MODIFIED_SINCE
    assert Verdict.IF_NONE_MATCH.not_modified and Verdict.IF_MODIFIED_SINCE.not_modified
    assert not Verdict.IF_MATCH.not_modified and not Verdict.IF_UNMODIFIED_SINCE.not_modified


def test_rfc_order() -> None:
    # A failed precondition is judged before not-modified.
    assert evaluate(ETAG, T, if_match='"e2"', if_none_match=ETAG) is Verdict.IF_MATCH
    # If-Match true wins over If-Unmodified-Since false.
    assert evaluate(ETAG, T, if_match=ETAG, if_unmodified_since=BEFORE) is None
    # If-None-Match false wins over If-Modified-Since true.
    assert evaluate(ETAG, T, if_none_match='"e2"', if_modified_since=AT) is None
    assert evaluate(ETAG, T, if_modified_since="garbage") is None
