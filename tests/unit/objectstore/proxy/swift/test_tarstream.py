"""The streamed tar reader of extract-archive: members come out as the body comes in."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from objectstore.proxy.swift.tarstream import Archive, BodyReader

MIB = 1024 * 1024


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_body_reader_gives_exact_reads() -> None:
    reader = BodyReader(_chunks(b"abcdefghij", 3))
    assert [await reader.read(4), await reader.read(4), await reader.read(4)] == [
        b"abcd",
        b"efgh",
        b"ij",
    ]
    assert await reader.read(4) == b""


async def _big_tar(size: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """An uncompressed tar of one member of ``size`` zero bytes, made as it is sent."""
    info = tarfile.TarInfo("c/big")
    info.size = size
    yield info.tobuf(format=tarfile.PAX_FORMAT)
    zeros = bytes(chunk)
    for _ in range(size // chunk):
        yield zeros
    yield bytes(size % chunk)
    yield bytes(-size % tarfile.BLOCKSIZE) + bytes(2 * tarfile.BLOCKSIZE)


async def test_a_large_member_streams_in_bounded_memory() -> None:
    size = 24 * MIB + 5
    archive = Archive(_big_tar(size), "")
    tracemalloc.start()
    try:
        await archive.open()
        member = await archive.next()
        assert member is not None and member.name == "c/big" and member.isfile()
        digest, seen = hashlib.md5(), 0
        async for piece in archive.data(member):
            digest.update(piece)
            seen += len(piece)
        assert await archive.next() is None
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == size
    assert digest.hexdigest() == hashlib.md5(bytes(size)).hexdigest()
    assert peak < 4 * MIB  # never the archive, nor the member, in memory


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2"])
async def test_compressed_members_in_order(mode: str) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:  # type: ignore[call-overload]
        for name in ("a/1", "a/2", "b/3"):
            info = tarfile.TarInfo(name)
            info.size = len(name)
            tar.addfile(info, io.BytesIO(name.encode()))
    archive = Archive(_chunks(out.getvalue(), 7), "gz" if mode == "w:gz" else "bz2")
    await archive.open()
    found: list[tuple[str, bytes]] = []
    while (member := await archive.next()) is not None:
        found.append((member.name, b"".join([p async for p in archive.data(member)])))
    assert found == [("a/1", b"a/1"), ("a/2", b"a/2"), ("b/3", b"b/3")]


async def test_a_skipped_member_is_passed_over() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name in ("x/skipped", "x/read"):
            info = tarfile.TarInfo(name)
            info.size = 3000
            tar.addfile(info, io.BytesIO(name.encode().ljust(3000, b".")))
    archive = Archive(_chunks(out.getvalue(), 1000), "")
    await archive.open()
    first = await archive.next()
    assert first is not None and first.name == "x/skipped"
    second = await archive.next()
    assert second is not None
    data = b"".join([p async for p in archive.data(second)])
    assert data.startswith(b"x/read...") and len(data) == 3000


async def test_garbage_is_a_tar_error() -> None:
    archive = Archive(_chunks(gzip.compress(b"not a tar at all" * 100), 50), "gz")
    with pytest.raises(tarfile.TarError):
        await archive.open()
        await archive.next()
