"""Signature parsing as Swift's extract_digest_and_algorithm, and TempURL's helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from objectstore.proxy.swift.middleware import tempkeys, tempurl

RAW = hmac.new(b"k", b"msg", hashlib.sha512).digest()


def test_hex_names_its_digest_by_length() -> None:
    for digest, name in (
        (hashlib.sha1, "sha1"),
        (hashlib.sha256, "sha256"),
        (hashlib.sha512, "sha512"),
    ):
        hexsig = hmac.new(b"k", b"m", digest).hexdigest()
        assert tempkeys.parse_signature(hexsig) == (name, hexsig)


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode().rstrip("="),
    ],
)
def test_base64_forms(encoded: str) -> None:
    assert tempkeys.parse_signature("sha512:" + encoded) == ("sha512", RAW.hex())


@pytest.mark.parametrize("bad", ["zz" * 32, "ab" * 30, "sha256:a b", "sha256:a=b", "sha256:abcde"])
def test_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        tempkeys.parse_signature(bad)


def test_matches_in_constant_time() -> None:
    assert tempkeys.matches("ab", "ab")
    assert not tempkeys.matches("ab", "ac")
    assert not tempkeys.matches("é", "ab")


def test_normalize_expires() -> None:
    now = 1_700_000_000.0
    assert tempurl.normalize_expires(None, now) is None
    assert tempurl.normalize_expires("1700000100", now) == 1700000100
    assert tempurl.normalize_expires("1699999999", now) == 0  # past
    assert tempurl.normalize_expires("soon", now) == 0
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1700000100))
    assert tempurl.normalize_expires(iso, now) == 1700000100


def test_disposition_as_swift_builds_it() -> None:
    assert tempurl.disposition("attachment", 'a "b"/é') == (
        "attachment; filename=\"a %22b%22/%C3%A9\"; filename*=UTF-8''a%20%22b%22/%C3%A9"
    )
