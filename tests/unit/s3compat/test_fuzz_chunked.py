"""Fuzz: aws-chunked framing, decoded from aiohttp's own StreamReader.

Bodies are valid encodings (signed, with a trailer or not) that are then cut,
flipped or spliced, or chunk headers with random (also huge) sizes. The
decoder must yield at most the bytes it was given and end with an S3Error
of 4xx status, never another exception, and never wait for or hold a chunk
larger than MAX_CHUNK however large a size line claims.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from aiohttp import StreamReader
from aiohttp.base_protocol import BaseProtocol
from hypothesis import given
from hypothesis import strategies as st

from s3compat import sigv4
from s3compat.chunked import MAX_CHUNK, AwsChunkedDecoder
from s3compat.errors import S3Error
from tests.helpers.fuzz import budget

KEY = b"k" * 32
AUTH = sigv4.SigV4Auth("AK", "20260601T120000Z", sigv4.Scope("20260601", "us-east-1", "s3"),
                       "0" * 64, sigv4.STREAMING_SIGNED, KEY, False)  # fmt: skip
MODES = sorted(sigv4.STREAMING_MODES)


def encode(pieces: list[bytes], mode: str, trailer: tuple[str, str] | None) -> bytes:
    """A correct aws-chunked body (signatures chained as the decoder expects)."""
    signed = mode != sigv4.STREAMING_UNSIGNED_TRAILER
    previous, out = AUTH.signature, b""
    for piece in [*pieces, b""]:
        sts = sigv4.chunk_string_to_sign(AUTH, previous, hashlib.sha256(piece).hexdigest())
        previous = sigv4.sign(KEY, sts)
        ext = f";chunk-signature={previous}" if signed else ""
        out += f"{len(piece):x}{ext}\r\n".encode() + piece + (b"\r\n" if piece else b"")
    if trailer is not None and mode != sigv4.STREAMING_SIGNED:
        line = f"{trailer[0]}:{trailer[1]}\n".encode()
        out += f"{trailer[0]}:{trailer[1]}\r\n".encode()
        if signed:
            sts = sigv4.trailer_string_to_sign(AUTH, previous, line)
            out += f"x-amz-trailer-signature:{sigv4.sign(KEY, sts)}\r\n".encode()
    return out + b"\r\n"


async def decode(body: bytes, mode: str, length: int | None, trailer: str | None) -> int:
    loop = asyncio.get_running_loop()
    reader = StreamReader(BaseProtocol(loop), 2**16, loop=loop)
    reader.feed_data(body)
    reader.feed_eof()
    auth = None if mode == sigv4.STREAMING_UNSIGNED_TRAILER else AUTH
    got = 0
    try:
        async for chunk in AwsChunkedDecoder(reader, auth, mode, length, trailer=trailer):
            assert len(chunk) <= MAX_CHUNK
            got += len(chunk)
    except S3Error as err:
        assert 400 <= err.status < 500, (err.code, err.message)
    assert got <= len(body)
    return got


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str, int | None, str | None]:
    mode = draw(st.sampled_from(MODES))
    pieces = draw(st.lists(st.binary(min_size=1, max_size=64), max_size=4))
    trailer = draw(st.sampled_from([None, ("x-amz-checksum-crc32", "AAAAAA=="), ("x", "é")]))
    body = encode(pieces, mode, trailer)
    how = draw(st.sampled_from(["as is", "cut", "flip", "splice", "size line"]))
    if how == "cut":
        body = body[: draw(st.integers(0, len(body)))]
    elif how == "flip":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    elif how == "splice":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(max_size=32)) + body[at:]
    elif how == "size line":
        size = draw(st.sampled_from(["ffffffff", "1000001", "0" * 9, "-1", "g", "", "10 "]))
        body = f"{size};chunk-signature={'0' * 64}\r\n".encode() + body
    total = sum(map(len, pieces))
    length = draw(st.sampled_from([total, None, 0, total + 1, 2**63]))
    declared = draw(st.sampled_from([None, trailer[0] if trailer else None, "x-amz-checksum-sha1"]))
    return body, mode, length, declared


@budget(150)
@given(case=bodies())
def test_fuzz_aws_chunked(case: tuple[bytes, str, int | None, str | None]) -> None:
    asyncio.run(decode(*case))


@budget(100)
@given(body=st.binary(max_size=512), mode=st.sampled_from(MODES))
def test_fuzz_aws_chunked_raw_bytes(body: bytes, mode: str) -> None:
    asyncio.run(decode(body, mode, None, None))


def test_valid_bodies_decode_whole() -> None:
    for mode in MODES:
        body = encode([b"a" * 8192, b"d" * 100], mode, ("x-amz-checksum-crc32", "AAAAAA=="))
        assert asyncio.run(decode(body, mode, 8292, "x-amz-checksum-crc32")) == 8292


def test_huge_size_line_allocates_nothing() -> None:
    """A chunk header claiming 4 GiB is refused before any read; one within MAX_CHUNK waits
    for bytes that never come and ends as IncompleteBody (nothing preallocated)."""
    sig = hmac.new(b"x", b"y", hashlib.sha256).hexdigest()
    for size in ("ffffffff", f"{MAX_CHUNK:x}"):
        body = f"{size};chunk-signature={sig}\r\n".encode() + b"abc"
        assert asyncio.run(decode(body, sigv4.STREAMING_SIGNED, None, None)) == 0
