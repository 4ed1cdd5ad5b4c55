"""aws-chunked decoding against the chunk signatures AWS publishes for its example."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from s3compat import checksums, sigv4
from s3compat.chunked import AwsChunkedDecoder
from s3compat.errors import S3Error

SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SCOPE = sigv4.Scope("20130524", "us-east-1", "s3")
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
# The chunk signatures of the documented 66,560-byte upload (65,536 + 1,024 + final).
CHUNK_SIGS = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]


def _auth(mode: str = sigv4.STREAMING_SIGNED) -> sigv4.SigV4Auth:
    key = sigv4.signing_key(SK, SCOPE)
    return sigv4.SigV4Auth("AK", "20130524T000000Z", SCOPE, SEED, mode, key, False)


def _reader(data: bytes) -> asyncio.StreamReader:
    r = asyncio.StreamReader(limit=1 << 20)
    r.feed_data(data)
    r.feed_eof()
    return r


def _documented_body() -> bytes:
    chunks = [b"a" * 65536, b"a" * 1024, b""]
    out = b""
    for data, sig in zip(chunks, CHUNK_SIGS, strict=True):
        out += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
    return out


async def _collect(dec: AwsChunkedDecoder) -> bytes:
    return b"".join([c async for c in dec])


async def test_documented_signed_upload_decodes() -> None:
    dec = AwsChunkedDecoder(_reader(_documented_body()), _auth(), sigv4.STREAMING_SIGNED, 66560)
    assert await _collect(dec) == b"a" * 66560
    assert dec.trailers == {}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.replace(b"a" * 10, b"a" * 9 + b"b", 1),  # payload changed
        lambda b: b.replace(CHUNK_SIGS[1].encode(), b"0" * 64),  # signature replaced
        lambda b: b[:-40],  # truncated
        lambda b: b.replace(b"400;", b"401;"),  # size changed
    ],
)
async def test_tampered_or_short_bodies_fail(mutate) -> None:
    dec = AwsChunkedDecoder(
        _reader(mutate(_documented_body())), _auth(), sigv4.STREAMING_SIGNED, 66560
    )
    with pytest.raises(S3Error) as exc:
        await _collect(dec)
    assert exc.value.code in ("SignatureDoesNotMatch", "IncompleteBody")


async def test_decoded_length_is_enforced() -> None:
    dec = AwsChunkedDecoder(_reader(_documented_body()), _auth(), sigv4.STREAMING_SIGNED, 1000)
    with pytest.raises(S3Error, match="number of bytes") as short:
        await _collect(dec)
    assert short.value.code == "IncompleteBody"
    assert short.value.extra["NumberBytesExpected"] == "1000"


def _signed_trailer_body(payload: bytes, trailer_value: str) -> bytes:
    auth = _auth(sigv4.STREAMING_SIGNED_TRAILER)
    prev = SEED
    out = b""
    for data in (payload, b""):
        sts = sigv4.chunk_string_to_sign(auth, prev, hashlib.sha256(data).hexdigest())
        prev = sigv4.sign(auth.signing_key, sts)
        out += f"{len(data):x};chunk-signature={prev}\r\n".encode() + data
        if data:
            out += b"\r\n"
    line = f"x-amz-checksum-crc32:{trailer_value}\n".encode()
    tsig = sigv4.sign(auth.signing_key, sigv4.trailer_string_to_sign(auth, prev, line))
    return out + line.replace(b"\n", b"\r\n") + f"x-amz-trailer-signature:{tsig}\r\n\r\n".encode()


async def test_signed_trailer() -> None:
    crc = checksums.compute("CRC32", b"hello world")
    body = _signed_trailer_body(b"hello world", crc)
    mode = sigv4.STREAMING_SIGNED_TRAILER
    trailer = "x-amz-checksum-crc32"
    dec = AwsChunkedDecoder(_reader(body), _auth(mode), mode, 11, trailer=trailer)
    assert await _collect(dec) == b"hello world"
    assert dec.trailers == {"x-amz-checksum-crc32": crc}
    forged = body.replace(crc.encode(), checksums.compute("CRC32", b"other").encode())
    with pytest.raises(S3Error) as forged_trailer:
        await _collect(AwsChunkedDecoder(_reader(forged), _auth(mode), mode, 11, trailer=trailer))
    assert forged_trailer.value.code == "SignatureDoesNotMatch"
    assert forged_trailer.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256-TRAILER\n")
    # the trailer AWS needs announced in x-amz-trailer: unannounced, it is malformed
    with pytest.raises(S3Error) as unannounced:
        await _collect(AwsChunkedDecoder(_reader(body), _auth(mode), mode, 11))
    assert unannounced.value.code == "MalformedTrailerError"


async def test_unsigned_trailer() -> None:
    payload = b"a" * 8192 + b"def"
    crc = checksums.compute("CRC32C", payload)
    body = b"2000\r\n" + b"a" * 8192 + b"\r\n3\r\ndef\r\n0\r\n"
    body += f"x-amz-checksum-crc32c:{crc}\r\n\r\n".encode()
    mode = sigv4.STREAMING_UNSIGNED_TRAILER
    dec = AwsChunkedDecoder(_reader(body), None, mode, 8195, trailer="x-amz-checksum-crc32c")
    assert await _collect(dec) == payload
    assert dec.trailers["x-amz-checksum-crc32c"] == crc


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", "InvalidChunkSizeError"),  # 8 KiB minimum
        (b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\n\r\n", "IncompleteBody"),  # no CR
        (b"3\r\nabc\r\n0\r\n\r\n", "MalformedTrailerError"),  # announced, never came
        (b"3\r\nabc\r\n0\r\nbonus:x\r\n\r\n", "MalformedTrailerError"),  # not announced
        (b"3\nabc\n0\n\n", "IncompleteBody"),  # LF alone ends no line
    ],
)
async def test_framing_errors_as_aws(body: bytes, code: str) -> None:
    mode = sigv4.STREAMING_UNSIGNED_TRAILER
    dec = AwsChunkedDecoder(_reader(body), None, mode, None, trailer="x-amz-checksum-crc32")
    with pytest.raises(S3Error) as exc:
        await _collect(dec)
    assert exc.value.code == code
    if code == "InvalidChunkSizeError":
        assert exc.value.status == 403
        assert exc.value.extra == {"Chunk": "2", "BadChunkSize": "3"}


async def test_signed_chunk_parameters() -> None:
    body = _documented_body()
    cases = {
        b"chunk-signature=" + CHUNK_SIGS[0].encode(): None,
        b" chunk-signature = " + CHUNK_SIGS[0].encode() + b" ": None,  # blanks forgiven
        b"": "IncompleteBody",  # no signature
        b"chunk-signature=": "IncompleteBody",  # a blank one
        b"chunk-signature=" + CHUNK_SIGS[0].encode() + b";extra=param": "IncompleteBody",
        b"extra=param;chunk-signature=" + CHUNK_SIGS[0].encode(): "SignatureDoesNotMatch",
        b"chunk-signature=invalid": "SignatureDoesNotMatch",
    }
    first = b"10000;chunk-signature=" + CHUNK_SIGS[0].encode()
    for params, code in cases.items():
        header = b"10000" + (b";" + params if params else b"")
        dec = AwsChunkedDecoder(
            _reader(body.replace(first, header, 1)), _auth(), sigv4.STREAMING_SIGNED, 66560
        )
        if code is None:
            assert await _collect(dec) == b"a" * 66560
            continue
        with pytest.raises(S3Error) as exc:
            await _collect(dec)
        assert exc.value.code == code, params
        if code == "SignatureDoesNotMatch":
            assert exc.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")
            assert exc.value.extra["CanonicalRequestBytes"] == ""  # (the test's auth has none)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nabc\r\n",
        b"3\r\nabcXX0\r\n\r\n",
        b"ffffffff\r\n",
        b"3\r\nab",
        b"0\r\nbad header\r\n\r\n",
    ],
)
async def test_malformed_unsigned_bodies(body: bytes) -> None:
    mode = sigv4.STREAMING_UNSIGNED_TRAILER
    with pytest.raises(S3Error):
        await _collect(AwsChunkedDecoder(_reader(body), None, mode, None))
