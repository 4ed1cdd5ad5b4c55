"""Range header parsing and multipart/byteranges framing."""

from __future__ import annotations

import pytest

from objectstore.proxy.ranges import content_range
from objectstore.proxy.swift.ranges import (
    closing,
    multipart_content_type,
    multipart_length,
    new_boundary,
    parse_range,
    part_head,
)


def test_parse_good_headers() -> None:
    assert parse_range("bytes=0-9") == [(0, 9)]
    assert parse_range("bytes=-5") == [(None, 5)]
    assert parse_range("bytes=5-") == [(5, None)]
    assert parse_range("bytes = 0-1, 4-5") == [(0, 1), (4, 5)]
    assert parse_range("BYTES=1-1") == [(1, 1)]


@pytest.mark.parametrize(
    "header",
    [None, "", "bytes=", "bytes=a-b", "bytes=5-1", "bytes=-", "items=0-1", "bytes=0-1,x", "0-1"],
)
def test_bad_headers_are_ignored(header: str | None) -> None:
    assert parse_range(header) is None


def test_content_range() -> None:
    assert content_range(0, 10, 100) == "bytes 0-9/100"


def test_multipart_length_matches_what_is_built() -> None:
    boundary = new_boundary()
    data = bytes(range(256)) * 4
    ranges = [(0, 10), (100, 250), (1000, 1024)]
    body = b""
    for start, stop in ranges:
        body += part_head(boundary, "text/plain", start, stop, len(data))
        body += data[start:stop] + b"\r\n"
    body += closing(boundary)
    assert multipart_length(boundary, "text/plain", ranges, len(data)) == len(body)
    assert body.startswith(f"--{boundary}\r\nContent-Type: text/plain\r\n".encode())
    assert b"Content-Range: bytes 100-249/1024\r\n\r\n" in body
    assert body.endswith(f"\r\n--{boundary}--".encode())
    assert multipart_content_type(boundary) == f"multipart/byteranges;boundary={boundary}"
