"""The verifying request body and the wire target, without a server."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from s3compat import sigv4
from s3compat.auth import RequestBody, wire_target
from s3compat.errors import S3Error

DATA = b"some payload " * 1000


class Reader:
    """What RequestBody reads in plain mode: aiohttp's iter_chunked."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), 1000):
            yield self.data[i : i + 1000]


def _auth(payload_hash: str) -> sigv4.SigV4Auth:
    scope = sigv4.Scope("20260101", "us-east-1", "s3")
    return sigv4.SigV4Auth("AK", "20260101T000000Z", scope, "0" * 64, payload_hash, b"k", False)


async def _read(body: RequestBody) -> bytes:
    return b"".join([c async for c in body])


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def test_signed_payload_md5_and_checksum_verified() -> None:
    headers = {
        "content-md5": _b64(hashlib.md5(DATA).digest()),
        "x-amz-checksum-crc32": _b64(zlib.crc32(DATA).to_bytes(4, "big")),
    }
    auth = _auth(hashlib.sha256(DATA).hexdigest())
    body = RequestBody(Reader(DATA), headers, auth, len(DATA))
    assert await _read(body) == DATA
    assert body.content_md5 == hashlib.md5(DATA).hexdigest()
    assert (body.checksum_algorithm, body.checksum_value) == (
        "CRC32",
        headers["x-amz-checksum-crc32"],
    )


@pytest.mark.parametrize(
    "headers,payload_hash,length,code",
    [
        ({}, hashlib.sha256(b"other").hexdigest(), len(DATA), "XAmzContentSHA256Mismatch"),
        (
            {"content-md5": _b64(hashlib.md5(b"x").digest())},
            "UNSIGNED-PAYLOAD",
            len(DATA),
            "BadDigest",
        ),
        (
            {"x-amz-checksum-sha256": _b64(hashlib.sha256(b"x").digest())},
            "UNSIGNED-PAYLOAD",
            len(DATA),
            "BadDigest",
        ),
        ({}, "UNSIGNED-PAYLOAD", len(DATA) + 1, "IncompleteBody"),
    ],
)
async def test_a_body_that_breaks_a_promise_fails_before_it_ends(
    headers: dict[str, str], payload_hash: str, length: int, code: str
) -> None:
    body = RequestBody(Reader(DATA), headers, _auth(payload_hash), length)
    with pytest.raises(S3Error) as exc:
        await _read(body)
    assert exc.value.code == code and body.error is exc.value


def test_malformed_content_md5_and_missing_decoded_length() -> None:
    with pytest.raises(S3Error) as exc:
        RequestBody(Reader(b""), {"content-md5": "nope"}, None, 0)
    assert exc.value.code == "InvalidDigest"
    with pytest.raises(S3Error) as exc:
        RequestBody(Reader(b""), {}, _auth(sigv4.STREAMING_SIGNED), 10)
    assert exc.value.code == "MissingContentLength"


async def test_read_all_is_bounded() -> None:
    body = RequestBody(Reader(DATA), {}, None, None)
    with pytest.raises(S3Error) as exc:
        await body.read_all(100)
    assert exc.value.code == "EntityTooLarge"


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/b/k?x=1", ("/b/k", "x=1")),
        ("/b/a%2Fb", ("/b/a%2Fb", "")),
        ("http://b.s3.test:9000/k?acl", ("/k", "acl")),
        ("http://s3.test:9000", ("/", "")),
        ("https://s3.test?x", ("/", "x")),
    ],
)
def test_wire_target(target: str, expected: tuple[str, str]) -> None:
    assert wire_target(SimpleNamespace(raw_path=target)) == expected  # type: ignore[arg-type]


async def test_a_sigv2_body_is_held_to_the_sha256_it_sends() -> None:
    wrong = hashlib.sha256(b"other").hexdigest()
    body = RequestBody(Reader(DATA), {"x-amz-content-sha256": wrong}, None, len(DATA))
    with pytest.raises(S3Error) as exc:
        await _read(body)
    assert exc.value.code == "XAmzContentSHA256Mismatch"
    assert exc.value.extra["ClientComputedContentSHA256"] == wrong
    upper = hashlib.sha256(DATA).hexdigest().upper()
    ok = RequestBody(Reader(DATA), {"x-amz-content-sha256": upper}, None, len(DATA))
    assert await _read(ok) == DATA


async def test_bad_digest_and_short_body_say_what_was_expected() -> None:
    sent = hashlib.md5(b"x").digest()
    body = RequestBody(Reader(DATA), {"content-md5": _b64(sent)}, None, len(DATA))
    with pytest.raises(S3Error) as exc:
        await _read(body)
    assert exc.value.extra == {
        "ExpectedDigest": sent.hex(),
        "CalculatedDigest": _b64(hashlib.md5(DATA).digest()),
    }
    part = RequestBody(Reader(DATA), {"content-md5": _b64(sent)}, None, len(DATA))
    part.digest_in_base64 = True  # UploadPart, DeleteObjects, CompleteMultipartUpload
    with pytest.raises(S3Error) as exc:
        await _read(part)
    assert exc.value.extra["ExpectedDigest"] == _b64(sent)
    short = RequestBody(Reader(DATA), {}, None, len(DATA) + 5)
    with pytest.raises(S3Error) as exc:
        await _read(short)
    assert exc.value.extra == {
        "NumberBytesExpected": str(len(DATA) + 5),
        "NumberBytesProvided": str(len(DATA)),
    }
