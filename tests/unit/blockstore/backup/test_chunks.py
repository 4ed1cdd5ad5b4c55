"""Chunk framing: codecs, the raw fallback for incompressible data, integrity checks."""

from __future__ import annotations

import os

import pytest

from blockstore.backup import chunks


@pytest.mark.parametrize("codec", [chunks.RAW, chunks.ZLIB, chunks.ZSTD])
def test_round_trip(codec: int) -> None:
    data = b"stratus volume " * 5000
    body = chunks.encode(data, codec)
    assert body[:3] == b"SBC" and body[3] == chunks.VERSION
    if codec != chunks.RAW:
        assert len(body) < len(data) // 10
    assert chunks.decode(body, chunks.digest(data)) == data


def test_incompressible_data_is_stored_raw() -> None:
    data = os.urandom(256 * 1024)
    body = chunks.encode(data, chunks.ZSTD)
    assert body[4] == chunks.RAW and len(body) == len(data) + chunks.FRAME.size


def test_corruption_and_foreign_bodies_are_detected() -> None:
    data = b"x" * 100000
    body = bytearray(chunks.encode(data, chunks.ZLIB))
    with pytest.raises(chunks.ChunkError):
        chunks.decode(bytes(body), chunks.digest(b"other"))
    body[-3] ^= 0x55
    with pytest.raises(chunks.ChunkError):
        chunks.decode(bytes(body), chunks.digest(data))
    for bad in (b"", b"SBC", b"XYZ\x01\x00\x00\x00\x00\x01a", b"SBC\x09\x00\x00\x00\x00\x01a"):
        with pytest.raises(chunks.ChunkError):
            chunks.decode(bad)
    raw = chunks.encode(b"abc", chunks.RAW)
    with pytest.raises(chunks.ChunkError, match="length"):
        chunks.decode(raw + b"extra")


def test_names_and_zero_detection() -> None:
    dig = chunks.digest(b"a")
    assert len(dig) == 16 and chunks.digest_of_name(chunks.object_name(dig)) == dig
    assert chunks.digest_of_name("chunks/zz") is None and chunks.digest_of_name("x") is None
    assert chunks.is_zero(bytes(4096)) and not chunks.is_zero(b"\0" * 4095 + b"\1")
    assert chunks.is_zero(bytes(9 * 1024 * 1024))


@pytest.mark.parametrize("codec", [chunks.ZLIB, chunks.ZSTD])
def test_a_bomb_is_refused_without_decompressing_it(codec: int) -> None:
    """A tenant can overwrite chunk objects: output is bounded by the expected length,
    whatever the frame or the compressed stream declares."""
    import tracemalloc
    import zlib

    import zstandard

    big = bytes(256 * 1024 * 1024)
    payload = zstandard.ZstdCompressor().compress(big) if codec == chunks.ZSTD else (
        zlib.compress(big, 9)
    )  # fmt: skip
    del big
    small = chunks.FRAME.pack(chunks.MAGIC, chunks.VERSION, codec, 4096) + payload
    huge = chunks.FRAME.pack(chunks.MAGIC, chunks.VERSION, codec, 2**32 - 1) + payload
    tracemalloc.start()
    try:
        with pytest.raises(chunks.ChunkError):
            chunks.decode(small, max_length=4096)
        with pytest.raises(chunks.ChunkError, match="declares"):
            chunks.decode(huge, max_length=1024 * 1024)
        with pytest.raises(chunks.ChunkError, match="declares"):
            chunks.decode(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024
