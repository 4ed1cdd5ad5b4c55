"""The ``Range`` header and ``multipart/byteranges`` bodies, as Swift reads and writes them.

A header that does not parse is ignored (the whole object is sent), like
Swift's ``swob.Range``; a header that parses but selects nothing is a 416.
Several satisfiable ranges are sent as one ``multipart/byteranges`` body
whose length is known before the first byte, so it keeps a Content-Length.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from objectstore.proxy.ranges import RangeSpec, content_range
from stratus.digits import ascii_uint


def parse_range(header: str | None) -> list[RangeSpec] | None:
    """``"bytes=0-9,-5"`` -> ``[(0, 9), (None, 5)]``; None when absent or malformed."""
    if not header:
        return None
    value = header.replace(" ", "").replace("\t", "")
    if value[:6].lower() != "bytes=":
        return None
    specs: list[RangeSpec] = []
    for item in value[6:].split(","):
        first, dash, last = item.partition("-")
        if not dash or not (first or last):
            return None
        start = ascii_uint(first) if first else None
        end = ascii_uint(last) if last else None
        if (first and start is None) or (last and end is None):
            return None
        if start is not None and end is not None and end < start:
            return None
        specs.append((start, end))
    return specs


def new_boundary() -> str:
    return os.urandom(16).hex()


def part_head(boundary: str, content_type: str, start: int, stop: int, size: int) -> bytes:
    """The delimiter and headers that open one part of a byteranges body."""
    return (
        f"--{boundary}\r\nContent-Type: {content_type}\r\n"
        f"Content-Range: {content_range(start, stop, size)}\r\n\r\n"
    ).encode()


def closing(boundary: str) -> bytes:
    return f"--{boundary}--".encode()


def multipart_length(
    boundary: str, content_type: str, ranges: Sequence[tuple[int, int]], size: int
) -> int:
    """Exact length of the byteranges body that :func:`part_head` and friends build."""
    total = 0
    for start, stop in ranges:
        total += len(part_head(boundary, content_type, start, stop, size)) + (stop - start)
        total += 2  # CRLF ending the part's data
    return total + len(closing(boundary))


def multipart_content_type(boundary: str) -> str:
    return f"multipart/byteranges;boundary={boundary}"
