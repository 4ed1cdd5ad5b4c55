"""The console's pure parts: sessions, redirects, signatures, the page helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stratus.console.app import _safe_next
from stratus.console.presign import presign_get, sign_request
from stratus.console.services import listing_size
from stratus.console.sessions import SessionStore
from stratus.console.templating import human_bytes, query
from stratus.console.views.objects import _crumbs


def test_sessions_expire_and_stay_bounded() -> None:
    now = [1000.0]
    store = SessionStore(max_sessions=2, clock=lambda: now[0])
    a = store.create("tok-a", "p", "u", expires=1100)
    b = store.create("tok-b", "p", "u", expires=1100)
    assert a.sid != b.sid and a.csrf != b.csrf and len(a.sid) >= 40
    assert store.get(a.sid) is a
    store.create("tok-c", "p", "u", expires=1100)
    assert store.get(a.sid) is None, "the oldest goes when the store is full"
    now[0] = 1100
    assert store.get(b.sid) is None, "expired"
    assert store.get(None) is None and store.get("x" * 500) is None


@pytest.mark.parametrize(
    "value,expected",
    [
        ("/objects/c/a?prefix=b%2F", "/objects/c/a?prefix=b%2F"),
        ("//evil.example/", "/objects"),
        ("https://evil.example/", "/objects"),
        ("/\\evil.example", "/objects"),
        ("objects", "/objects"),
    ],
)
def test_login_redirects_stay_on_the_console(value: str, expected: str) -> None:
    assert _safe_next(value) == expected


def test_a_presigned_url_matches_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same URL as botocore's presigner for the same key, time and expiry."""
    botocore_auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    when = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: when.replace(tzinfo=None))
    ours = presign_get(
        "http://127.0.0.1:9000",
        "bucket",
        "dir/a file+€.txt",
        access="STRAAAAAAAAAAAAAAAAA",
        secret="s" * 40,
        region="us-east-1",
        expires=3600,
        now=when,
    )
    signer = botocore_auth.S3SigV4QueryAuth(
        Credentials("STRAAAAAAAAAAAAAAAAA", "s" * 40), "s3", "us-east-1", expires=3600
    )
    req = AWSRequest("GET", "http://127.0.0.1:9000/bucket/dir/a%20file%2B%E2%82%AC.txt")
    signer.add_auth(req)
    assert ours == req.url


def test_a_signed_request_covers_every_amz_header() -> None:
    headers = sign_request(
        "PUT",
        "http://127.0.0.1:9000",
        "/b/k",
        {"tagging": ""},
        {"Content-MD5": "x", "x-amz-copy-source": "/b/k"},
        b"body",
        access="STRAAAAAAAAAAAAAAAAA",
        secret="s" * 40,
        region="us-east-1",
    )
    signed = headers["Authorization"].split("SignedHeaders=", 1)[1].split(",", 1)[0]
    assert signed.split(";") == sorted(
        ["content-md5", "host", "x-amz-content-sha256", "x-amz-copy-source", "x-amz-date"]
    )


def test_page_helpers() -> None:
    assert human_bytes(0) == "0 B" and human_bytes(1536) == "1.5 KiB"
    assert human_bytes(20 * 1024 * 1024) == "20.0 MiB"
    assert query(prefix="a/", marker="", limit=100) == "?prefix=a%2F&limit=100"
    assert _crumbs("a/b/") == [("a", "a/"), ("b", "a/b/")]
    assert _crumbs("") == []


def test_a_segmented_objects_listing_row_shows_its_whole_size() -> None:
    assert listing_size(364, "application/zip;swift_bytes=20971520;s3_etag=ab-3") == (
        20971520,
        "application/zip",
    )
    assert listing_size(5, "text/plain; charset=utf-8") == (5, "text/plain; charset=utf-8")
