"""Fuzz: SigV4 / SigV2 Authorization headers, presigned queries and body headers.

Each verifier gets mutated versions of well-formed requests (a real
credential, so verification goes past the key lookup) and must answer with
an S3Error of 4xx status: AuthorizationHeaderMalformed, AccessDenied,
SignatureDoesNotMatch, ... never another exception (which the app would turn
into a 500). Header values carry the values that break number parsers
(Unicode digits, thousands of digits) and dates at the ends of the calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from s3compat import checksums, sigv2, sigv4
from s3compat.auth import RequestBody
from s3compat.errors import S3Error
from s3compat.objects import parse_range
from tests.helpers.fuzz import budget

AK, SK = "AKIDFUZZ", "fuzz-secret"
NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
NUMBERS = ["0", "1", "60", "604800", "604801", "-1", "²", "١٢", "𝟗", "9" * 4301, "1_0", " 5", ""]
DATES = ["20260601T120000Z", "99991231T235959Z", "00010101T000000Z", "20261301T000000Z",
         "٢٠٢٦٠٦٠١T120000Z", "20260601T120000Z\n", "20260601", ""]  # fmt: skip
HTTP_DATES = ["Mon, 01 Jun 2026 12:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -2359",
              "Mon, 01 Jan 0001 00:00:00 +2359", "Mon, 01 Jan 99999 00:00:00 GMT",
              "x", ""]  # fmt: skip


def secrets(access: str) -> str | None:
    return SK if access == AK else None


def s3_error_or_ok(call: Callable[[], Any]) -> None:
    try:
        call()
    except S3Error as err:
        assert 400 <= err.status < 500, (err.code, err.message)


def piece(values: list[str]) -> st.SearchStrategy[str]:
    """Mostly the given values (so later checks are reached), sometimes any text."""
    return st.integers(0, 3).flatmap(
        lambda i: st.text(max_size=30) if i == 0 else st.sampled_from(values)
    )


def some_of(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, str]]:
    """All the fields, fuzzed, with now and then one left out."""
    drop = st.sampled_from([None, None, None, *sorted(fields)])
    return st.tuples(st.fixed_dictionaries(fields), drop).map(
        lambda t: {k: v for k, v in t[0].items() if k != t[1]}
    )


GOOD_V4 = {
    "algo": sigv4.ALGORITHM,
    "access": AK,
    "date": "20260601",
    "region": "us-east-1",
    "service": "s3",
    "signed": "host;x-amz-content-sha256;x-amz-date",
    "sep": ", ",
}
ODD_V4 = {"algo": [sigv4.ALGORITHM.lower(), "AWS4-HMAC-SHA1", ""], "access": ["", "AKID/x"],
          "date": DATES, "region": ["", "eu-west-1"], "service": ["", "iam"],
          "signed": ["host", ";;", "b;a;host", "x-amz-date"],
          "sep": [",", " , ", ",,", " "]}  # fmt: skip


@st.composite
def authorization_v4(draw: st.DrawFn) -> str:
    """A well-formed header with up to two parts broken, and any signature."""
    p = dict(GOOD_V4)
    for name in draw(st.lists(st.sampled_from(sorted(ODD_V4)), max_size=2)):
        p[name] = draw(st.sampled_from(ODD_V4[name]) | st.text(max_size=30))
    signature = draw(st.sampled_from(["0" * 64, "é" * 64, "ZZ", ""]) | st.text(max_size=70))
    credential = f"{p['access']}/{p['date']}/{p['region']}/{p['service']}/aws4_request"
    fields = [f"Credential={credential}", f"SignedHeaders={p['signed']}", f"Signature={signature}"]
    if draw(st.integers(0, 3)) == 0:  # fields missing or out of order
        fields = draw(st.permutations(fields))[: draw(st.integers(0, 3))]
    return f"{p['algo']} {p['sep'].join(fields)}"


@budget(200)
@given(
    authz=authorization_v4(),
    amz_date=piece(["20260601T120000Z", "20260601T120000Z", *DATES]),
    payload=piece([sigv4.UNSIGNED_PAYLOAD, sigv4.STREAMING_SIGNED, "a" * 64]),
)
def test_fuzz_sigv4_authorization_header(authz: str, amz_date: str, payload: str) -> None:
    headers = [("Host", "h"), ("Authorization", authz), ("x-amz-date", amz_date),
               ("x-amz-content-sha256", payload)]  # fmt: skip
    req = sigv4.SignedRequest("GET", "/b/k", [], headers)
    s3_error_or_ok(lambda: sigv4.verify_header_auth(req, secrets, region="us-east-1", now=NOW))


@budget(200)
@given(
    params=some_of(
        {
            "X-Amz-Algorithm": piece([sigv4.ALGORITHM]),
            "X-Amz-Credential": piece([f"{AK}/20260601/us-east-1/s3/aws4_request"]),
            "X-Amz-Date": piece(["99991231T235959Z", "00010101T000000Z", "20260601T120000Z"]),
            "X-Amz-Expires": piece(["1", "604800", "604801", "0", "²", "١٢", "9" * 4301, " 5"]),
            "X-Amz-SignedHeaders": piece(["host"]),
            "X-Amz-Signature": piece(["0" * 64]),
            "X-Amz-Content-Sha256": piece([sigv4.UNSIGNED_PAYLOAD]),
        },
    )
)
def test_fuzz_sigv4_presigned_query(params: dict[str, str]) -> None:
    req = sigv4.SignedRequest("GET", "/b/k", list(params.items()), [("Host", "h")])
    s3_error_or_ok(lambda: sigv4.verify_query_auth(req, secrets, region="us-east-1", now=NOW))


@budget(200)
@given(
    authz=st.one_of(
        st.builds(lambda a, s: f"AWS {a}:{s}", piece([AK, "", ":"]), piece(["c2ln", ""])),
        st.text(max_size=40).map(lambda t: "AWS " + t),
    ),
    date=piece(HTTP_DATES),
    amz=st.booleans(),
)
def test_fuzz_sigv2_authorization_header(authz: str, date: str, amz: bool) -> None:
    headers = [("Host", "h"), ("Authorization", authz), ("x-amz-date" if amz else "Date", date)]
    req = sigv4.SignedRequest("PUT", "/b/k", [("acl", "")], headers)
    s3_error_or_ok(lambda: sigv2.verify_header_auth(req, secrets, now=NOW))


@budget(200)
@given(
    params=some_of(
        {
            "AWSAccessKeyId": piece([AK]),
            "Expires": piece([*NUMBERS, "1780315200", "99999999999999999999"]),
            "Signature": piece(["c2ln"]),
        },
    )
)
def test_fuzz_sigv2_presigned_query(params: dict[str, str]) -> None:
    req = sigv4.SignedRequest("GET", "/b/k", list(params.items()), [("Host", "h")])
    s3_error_or_ok(lambda: sigv2.verify_query_auth(req, secrets, now=NOW))


AUTH = sigv4.SigV4Auth(AK, "20260601T120000Z", sigv4.Scope("20260601", "us-east-1", "s3"),
                       "0" * 64, sigv4.STREAMING_SIGNED, b"k" * 32, False)  # fmt: skip
BODY_HEADERS = ["x-amz-decoded-content-length", "content-md5", "x-amz-checksum-crc32",
                "x-amz-checksum-sha256", "x-amz-checksum-bogus", "x-amz-sdk-checksum-algorithm",
                "x-amz-trailer", "x-amz-content-sha256"]  # fmt: skip


@budget(200)
@given(
    headers=st.dictionaries(
        st.sampled_from(BODY_HEADERS),
        piece([*NUMBERS, "1B2M2Y8AsgTpgAmY7PhCfg==", "AAAAAA==", "crc32", "x-amz-checksum-crc32"]),
    ),
    signed=st.booleans(),
)
def test_fuzz_body_headers(headers: dict[str, str], signed: bool) -> None:
    """What RequestBody makes of the headers that describe a body (built before any read)."""
    s3_error_or_ok(lambda: RequestBody(None, headers, AUTH if signed else None, 10))
    s3_error_or_ok(lambda: checksums.declared(headers))


@budget(150)
@given(value=st.one_of(piece(["bytes=0-1", "bytes=-5", "bytes=5-"]), st.builds(
    lambda a, b: f"bytes={a}-{b}", piece(NUMBERS), piece(NUMBERS))))  # fmt: skip
def test_fuzz_range_header(value: str) -> None:
    parsed = parse_range(value)
    if parsed is not None:
        first, last = parsed
        assert first is None or first >= 0
        assert last is None or last >= (first or 0)


# Header values as aiohttp hands them over: bytes that are not UTF-8 become lone surrogates.
RAW_TEXT = st.lists(st.characters(codec="utf-8") | st.sampled_from("\udcb2\udcff")).map("".join)


@budget(100)
@given(value=RAW_TEXT, v2=st.booleans())
def test_fuzz_signed_header_values_with_raw_bytes(value: str, v2: bool) -> None:
    """A signed header carrying any bytes: the signature is checked (and fails), no crash."""
    if v2:
        headers = [("Host", "h"), ("Authorization", f"AWS {AK}:c2ln"),
                   ("Date", "Mon, 01 Jun 2026 12:00:00 GMT"), ("x-amz-meta-a", value)]  # fmt: skip
        req = sigv4.SignedRequest("GET", "/b/k", [], headers)
        s3_error_or_ok(lambda: sigv2.verify_header_auth(req, secrets, now=NOW))
        return
    authz = (f"{sigv4.ALGORITHM} Credential={AK}/20260601/us-east-1/s3/aws4_request, "
             f"SignedHeaders=host;x-amz-date;x-amz-meta-a, Signature={'0' * 64}")  # fmt: skip
    headers = [("Host", "h"), ("Authorization", authz), ("x-amz-date", "20260601T120000Z"),
               ("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD),
               ("x-amz-meta-a", value)]  # fmt: skip
    req = sigv4.SignedRequest("GET", "/b/k", [], headers)
    s3_error_or_ok(lambda: sigv4.verify_header_auth(req, secrets, region="us-east-1", now=NOW))
