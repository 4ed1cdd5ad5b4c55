"""Conditional request evaluation (If-Match, If-None-Match, If-(Un)Modified-Since)."""

from __future__ import annotations

from objectstore.proxy.conditional import etag_set, http_date, parse_http_date
from objectstore.proxy.swift.conditional import evaluate, missing_object_status

ETAG = "d41d8cd98f00b204e9800998ecf8427e"
T = 1_700_000_000.25  # Last-Modified is rounded up to ...001


def test_dates() -> None:
    assert http_date(T) == "Tue, 14 Nov 2023 22:13:21 GMT"
    assert parse_http_date("Tue, 14 Nov 2023 22:13:21 GMT") == 1_700_000_001
    assert parse_http_date("Tuesday, 14-Nov-23 22:13:21 GMT") == 1_700_000_001
    assert parse_http_date("Tue Nov 14 22:13:21 2023") == 1_700_000_001
    assert parse_http_date("yesterday") is None
    assert parse_http_date(None) is None


def test_etag_sets() -> None:
    assert etag_set('"a", b ,W/"c"') == {"a", "b", "c"}
    assert etag_set(None) is None


def test_if_match() -> None:
    assert evaluate("GET", {"If-Match": f'"{ETAG}"'}, ETAG, T) is None
    assert evaluate("GET", {"If-Match": "*"}, ETAG, T) is None
    assert evaluate("GET", {"If-Match": '"other"'}, ETAG, T) == 412
    assert evaluate("HEAD", {"If-Match": '"other", "x"'}, ETAG, T) == 412


def test_if_none_match() -> None:
    assert evaluate("GET", {"If-None-Match": ETAG}, ETAG, T) == 304
    assert evaluate("HEAD", {"If-None-Match": "*"}, ETAG, T) == 304
    assert evaluate("GET", {"If-None-Match": '"other"'}, ETAG, T) is None
    assert evaluate("DELETE", {"If-None-Match": "*"}, ETAG, T) == 412


def test_if_modified_since() -> None:
    same = http_date(T)
    assert evaluate("GET", {"If-Modified-Since": same}, ETAG, T) == 304
    assert evaluate("GET", {"If-Modified-Since": http_date(T - 10)}, ETAG, T) is None
    assert evaluate("GET", {"If-Modified-Since": "garbage"}, ETAG, T) is None
    # If-None-Match wins over If-Modified-Since
    assert evaluate("GET", {"If-None-Match": "x", "If-Modified-Since": same}, ETAG, T) is None


def test_if_unmodified_since() -> None:
    assert evaluate("GET", {"If-Unmodified-Since": http_date(T - 10)}, ETAG, T) == 412
    assert evaluate("GET", {"If-Unmodified-Since": http_date(T)}, ETAG, T) is None
    # If-Match wins over If-Unmodified-Since
    hdrs = {"If-Match": ETAG, "If-Unmodified-Since": http_date(T - 10)}
    assert evaluate("GET", hdrs, ETAG, T) is None


def test_missing_object() -> None:
    assert missing_object_status({"If-Match": "*"}) == 412
    assert missing_object_status({"If-Match": "abc"}) == 404
    assert missing_object_status({}) == 404
