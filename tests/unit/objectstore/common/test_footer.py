"""Object footers: framed after the body, split back off whatever the chunking."""

from __future__ import annotations

import os

import pytest

from objectstore.common import footer
from objectstore.common.wire import InvalidName


def _split(stream: bytes, sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    splitter = footer.Splitter()
    out = []
    pos = 0
    for size in sizes:
        out += splitter.feed(stream[pos : pos + size])
        pos += size
    if pos < len(stream):
        out += splitter.feed(stream[pos:])
    out.append(splitter.finish())
    return b"".join(out), splitter.metadata


@pytest.mark.parametrize("length", [0, 1, 100, footer.HOLD - 1, footer.HOLD, 3 * footer.HOLD + 7])
@pytest.mark.parametrize("sizes", [[1] * 50, [4096] * 40, [10**6], [7, footer.HOLD, 3]])
def test_body_and_footer_come_apart(length: int, sizes: list[int]) -> None:
    body = os.urandom(length)
    meta = {"s:s3-checksum": "CRC32:AAAAAA==", "m:é": "ü" * 100}
    assert _split(body + footer.encode(meta), sizes) == (body, meta)


def test_object_bytes_are_passed_on_before_the_end() -> None:
    splitter = footer.Splitter()
    assert splitter.feed(b"x" * 1000) == []  # all of it may still be footer
    assert splitter.feed(b"y" * footer.HOLD) == [b"x" * 1000]


@pytest.mark.parametrize(
    "tail",
    [
        b"",
        b"1234567",
        b"0000000g",
        b"ffffffff",
        b"\xc0" + b"00000001",
        b"\x92\x01\x02" + b"00000003",
    ],
)
def test_a_broken_footer_is_refused(tail: bytes) -> None:
    splitter = footer.Splitter()
    splitter.feed(tail)
    with pytest.raises(InvalidName):
        splitter.finish()


def test_sizes() -> None:
    with pytest.raises(ValueError):
        footer.encode({"k": "v" * footer.MAX_SIZE})
    assert footer.object_length({}) is None
    assert footer.object_length({footer.OBJECT_LENGTH: "42"}) == 42
    for bad in ("-1", "4 2", "٤٢", "9" * 16):
        with pytest.raises(InvalidName):
            footer.object_length({footer.OBJECT_LENGTH: bad})
