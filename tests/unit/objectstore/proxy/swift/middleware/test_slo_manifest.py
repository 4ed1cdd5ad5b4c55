"""SLO manifests: parsing a client's, checking segments, Swift's ETag and stored form."""

from __future__ import annotations

import hashlib
import json

import pytest

from objectstore.proxy import manifest
from objectstore.proxy.models import ObjectInfo
from objectstore.proxy.swift.errors import SwiftError
from objectstore.proxy.swift.middleware import slo, slo_manifest
from objectstore.timestamp import Timestamp


def info(size: int, etag: str, system: dict[str, str] | None = None) -> ObjectInfo:
    return ObjectInfo(
        "o", Timestamp(1700000000.25), size, etag, "text/plain;charset=x", system=system or {}
    )


def test_parse_keeps_what_swift_keeps() -> None:
    doc = [{"path": "/c/a", "etag": None, "size_bytes": "12", "range": "-3"}, {"data": "WFla"}]
    first, second = slo_manifest.parse(json.dumps(doc).encode(), "c", "m")
    assert (first.path, first.size, first.first, first.last, first.ranged) == (
        "/c/a",
        12,
        None,
        3,
        True,
    )
    assert first.container_object == ("c", "a")
    assert second.data == b"XYZ"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("WFla", True), ("WFl", False), ("WFl=", True), ("WF la", False), ("", True), (5, False)],
)
def test_strict_base64(value: object, ok: bool) -> None:
    if ok:
        slo_manifest.b64_strict(value)
    else:
        with pytest.raises(ValueError):
            slo_manifest.b64_strict(value)


def test_missing_keys_name_the_index() -> None:
    with pytest.raises(SwiftError) as caught:
        slo_manifest.parse(b'[{"etag": "x"}]', "c", "m")
    assert caught.value.body == "Index 0: expected keys to include one of 'data' or 'path'\n"


def test_check_segment_normalizes_the_range() -> None:
    (wanted,) = slo_manifest.parse(b'[{"path": "/c/a", "range": "2-"}]', "c", "m")
    checked = slo_manifest.check_segment(wanted, info(10, "e"), "200 OK", last=True)
    assert checked.entry == {
        "name": "/c/a",
        "bytes": 10,
        "hash": "e",
        "content_type": "text/plain",
        "last_modified": "2023-11-14T22:13:21.000000",
        "range": "2-9",
    }
    assert (checked.length, checked.problems) == (8, [])
    (whole,) = slo_manifest.parse(b'[{"path": "/c/a", "range": "0-"}]', "c", "m")
    assert "range" not in slo_manifest.check_segment(whole, info(10, "e"), "", last=True).entry
    nested = info(10, "e", {manifest.MARK: manifest.SLO})
    nested.manifest_etag = "stored"
    assert slo_manifest.check_segment(whole, nested, "", last=True).entry["sub_slo"] is True


def test_check_segment_problems() -> None:
    (wanted,) = slo_manifest.parse(b'[{"path": "/c/a b", "etag": "x", "size_bytes": 3}]', "c", "m")
    checked = slo_manifest.check_segment(wanted, info(0, "e"), "200 OK", last=False)
    assert checked.problems == [
        ("/c/a%20b", "Too small; each segment must be at least 1 byte."),
        ("/c/a%20b", "Size Mismatch"),
        ("/c/a%20b", "Etag Mismatch"),
    ]
    missing = slo_manifest.check_segment(wanted, None, "404 Not Found", last=False)
    assert missing.problems == [("/c/a%20b", "404 Not Found")]


def test_slo_etag_and_client_form() -> None:
    entries = [
        {"name": "/c/a", "bytes": 5, "hash": "h1", "content_type": "t", "last_modified": "x"},
        {"data": "WFla"},
        {
            "name": "/c/b",
            "bytes": 5,
            "hash": "h2",
            "content_type": "t",
            "last_modified": "x",
            "range": "1-2",
            "sub_slo": True,
        },
    ]
    want = hashlib.md5(("h1" + hashlib.md5(b"XYZ").hexdigest() + "h2:1-2;").encode()).hexdigest()
    assert slo_manifest.slo_etag(entries) == want
    stored = slo_manifest.stored_body(entries)
    assert stored.startswith(b'[{"name": "/c/a", "bytes": 5, ')
    assert json.loads(slo_manifest.client_form(stored)) == [
        {"etag": "h1", "path": "/c/a", "size_bytes": 5},
        {"data": "WFla"},
        {"etag": "h2", "path": "/c/b", "range": "1-2", "size_bytes": 5},
    ]
    segs = manifest.decode_slo(stored)
    assert [s.length for s in segs] == [5, 3, 2]
    assert segs[2].nested and (segs[2].first, segs[2].stop) == (1, 3)


def test_listing_row() -> None:
    row: dict[str, object] = {
        "bytes": 300,
        "hash": "md5",
        "name": "m",
        "content_type": "text/plain;charset=x;swift_bytes=17;slo_etag=abc",
        "last_modified": "t",
    }
    slo.listing_row(row)
    assert row == {
        "bytes": 17,
        "hash": "md5",
        "name": "m",
        "content_type": "text/plain;charset=x",
        "last_modified": "t",
        "slo_etag": '"abc"',
    }
    s3 = {"bytes": 1, "hash": "md5", "content_type": "a/b;swift_bytes=9;s3_etag=e-2"}
    slo.listing_row(s3)
    assert s3 == {"bytes": 9, "hash": "md5; s3_etag=e-2", "content_type": "a/b"}
    plain = {"bytes": 1, "hash": "md5", "content_type": "a/b;slo_etag=forged"}
    slo.listing_row(plain)  # a client's own parameter stays in its content type
    assert plain == {"bytes": 1, "hash": "md5", "content_type": "a/b;slo_etag=forged"}
