"""Moving bytes between a volume and the object store, chunk by chunk.

The volume is read and written through :class:`~blockstore.backend.volumeio.VolumeReader`
and ``VolumeWriter``: a file of this process, or ranges of a backend process's file.
Every function keeps at most ``concurrency`` chunks in flight: reading,
hashing and compressing run in worker threads (xxhash and zstd release the
GIL), uploads and downloads on the event loop. Holes in the volume file
(SEEK_DATA / SEEK_HOLE) are never read, and all-zero chunks never stored.
``progress(done, total)`` is called as chunks finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from blockstore.backend.volumeio import VolumeReader, VolumeWriter
from blockstore.backup import chunks
from blockstore.backup.manifest import Manifest, ManifestError
from blockstore.backup.objects import TooLarge, read_capped
from objectstore.apiclient import NotFound, SwiftClient

Progress = Callable[[int, int], None]


@dataclass
class BackupResult:
    chunks: list[bytes | None]
    uploaded: int  # chunk objects written
    stored_bytes: int  # their stored (compressed) size
    read_bytes: int  # bytes of the volume actually read


def chunk_count(size: int, chunk_size: int) -> int:
    return -(-size // chunk_size)


async def _pool(jobs: list[Callable[[], Awaitable[Any]]], concurrency: int) -> None:
    """Run ``jobs`` with at most ``concurrency`` at once; the first failure cancels the rest."""
    it = iter(jobs)

    async def worker() -> None:
        for job in it:
            await job()

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, concurrency))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise


def _read_chunk(source: VolumeReader, offset: int, length: int) -> tuple[bytes | None, bytes]:
    """(digest or None for zeros, data)."""
    data = source.read(offset, length)
    if chunks.is_zero(data):
        return None, b""
    return chunks.digest(data), data


async def backup_file(
    client: SwiftClient,
    container: str,
    source: VolumeReader,
    size: int,
    *,
    chunk_size: int,
    codec: int,
    known: set[bytes],
    concurrency: int = 4,
    progress: Progress | None = None,
) -> BackupResult:
    """Store ``source``'s first ``size`` bytes as chunks; skip chunks in ``known``."""
    total = chunk_count(size, chunk_size)
    result = BackupResult([None] * total, 0, 0, 0)
    seen: set[bytes] = set(known)
    done = 0
    found = await asyncio.to_thread(source.data_chunks, size, chunk_size)
    with_data = {i for i in found if 0 <= i < total}

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    def job(i: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            offset = i * chunk_size
            length = min(chunk_size, size - offset)
            dig, data = await asyncio.to_thread(_read_chunk, source, offset, length)
            result.read_bytes += length
            result.chunks[i] = dig
            if dig is not None and dig not in seen:
                seen.add(dig)
                body = await asyncio.to_thread(chunks.encode, data, codec)
                await client.put_object(container, chunks.object_name(dig), body)
                result.uploaded += 1
                result.stored_bytes += len(body)
            tick()

        return run

    for _ in range(total - len(with_data)):
        tick()
    await _pool([job(i) for i in sorted(with_data)], concurrency)
    return result


async def fetch_chunk(client: SwiftClient, container: str, dig: bytes, length: int) -> bytes:
    """A chunk's raw bytes, at most ``length`` of them: the read stops at the largest body
    such a chunk can have and decompression at ``length``, whatever the object holds."""
    try:
        body = await read_capped(
            client, container, chunks.object_name(dig), chunks.stored_limit(length)
        )
    except TooLarge as exc:
        raise chunks.ChunkError(str(exc)) from None
    return await asyncio.to_thread(chunks.decode, body, dig, max_length=length)


async def restore_file(
    client: SwiftClient,
    container: str,
    manifest: Manifest,
    dest: VolumeWriter,
    *,
    fresh: bool,
    volume_bytes: int,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> None:
    """Write the manifest's bytes through ``dest`` (holes punched unless the volume is
    ``fresh``); a manifest larger than the volume's ``volume_bytes`` is refused before
    any write."""
    if not 0 <= manifest.size <= volume_bytes:
        raise ManifestError(
            f"the backup holds {manifest.size} bytes, more than the volume's {volume_bytes}"
        )
    total = len(manifest.chunks)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    def job(i: int, dig: bytes | None) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            offset = i * manifest.chunk_size
            length = min(manifest.chunk_size, manifest.size - offset)
            if dig is None:
                if not fresh:
                    await asyncio.to_thread(dest.zero, offset, length)
            else:
                data = await fetch_chunk(client, container, dig, length)
                if len(data) != length:
                    raise chunks.ChunkError(f"chunk {i} has {len(data)} bytes, not {length}")
                await asyncio.to_thread(dest.write, offset, data, dig)
            tick()

        return run

    jobs = [job(i, d) for i, d in enumerate(manifest.chunks) if d is not None or not fresh]
    for _ in range(total - len(jobs)):
        tick()
    await _pool(jobs, concurrency)
    await asyncio.to_thread(dest.flush)


async def verify(
    client: SwiftClient,
    container: str,
    manifest: Manifest,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Re-read every distinct chunk and check its frame and digest."""
    digests = sorted(manifest.digests())
    missing: list[str] = []
    bad: list[str] = []
    done = 0

    def job(dig: bytes) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            nonlocal done
            try:
                await fetch_chunk(client, container, dig, manifest.chunk_size)
            except NotFound:
                missing.append(dig.hex())
            except chunks.ChunkError:
                bad.append(dig.hex())
            done += 1
            if progress is not None:
                progress(done, len(digests))

        return run

    await _pool([job(d) for d in digests], concurrency)
    return {
        "ok": not missing and not bad,
        "checked": len(digests),
        "missing": sorted(missing),
        "corrupt": sorted(bad),
    }


async def delete_chunks(
    client: SwiftClient, container: str, digests: set[bytes], *, concurrency: int = 8
) -> int:
    """Delete chunk objects (already gone is fine); how many existed."""
    deleted = 0

    def job(dig: bytes) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            nonlocal deleted
            if await client.delete_object(container, chunks.object_name(dig)):
                deleted += 1

        return run

    await _pool([job(d) for d in sorted(digests)], concurrency)
    return deleted
