"""Attack: a backup's chunks and manifest live in the tenant's own account, so the tenant
can overwrite them through the object-store API before asking for a restore.

Whatever the objects hold, a restore must fail cleanly (volume ``error_restoring``,
backup ``available`` again, as Cinder leaves them), never write past the volume's
end, and never hold more than a chunk's worth of bytes per chunk in memory.
"""

from __future__ import annotations

import os
import tracemalloc

import msgpack
import zstandard

from blockstore.backup import chunks
from blockstore.backup.manifest import MAGIC, VERSION, Manifest, object_name
from blockstore.manager.records import Backup, Volume
from tests.functional.blockstore.volume.conftest import ALICE, Rig
from tests.functional.blockstore.volume.test_backups import backed_up, swift, volume_with

MiB = 1024 * 1024
GiB = 1024 * MiB
CONTAINER = "volume_backups"


async def tampered_backup(rig: Rig) -> tuple[Volume, Backup, Manifest]:
    vol = await volume_with(rig, {0: os.urandom(MiB), 3 * MiB: b"stratus " * (MiB // 8)})
    bk = await backed_up(rig, vol)
    client = await swift(rig)
    man = Manifest.decode(await client.get_object(CONTAINER, object_name(bk.id)))
    return vol, bk, man


async def put_manifest(rig: Rig, bk: Backup, body: dict) -> None:  # type: ignore[type-arg]
    client = await swift(rig)
    raw = MAGIC + bytes([VERSION]) + msgpack.packb(body, use_bin_type=True)
    await client.put_object(CONTAINER, object_name(bk.id), raw)


def manifest_body(man: Manifest) -> dict:  # type: ignore[type-arg]
    return msgpack.unpackb(man.encode()[5:], raw=False)


async def restore_fails(rig: Rig, bk: Backup, volume_id: str | None = None) -> Volume:
    _bk, vol = await rig.manager.restore_backup(ALICE, bk.id, volume_id=volume_id)
    await rig.idle()
    vol = rig.manager.get_volume(ALICE, vol.id)
    assert vol.status == "error_restoring", (vol.status, vol.fail_reason)
    assert rig.manager.get_backup(ALICE, bk.id).status == "available"
    path = rig.backend.volume_path(vol.id)  # absent: refused before the file was made
    assert not path.exists() or path.stat().st_size == vol.size * GiB  # no write past its end
    return vol


async def test_a_zstd_bomb_chunk_is_refused_before_decompressing(backups: Rig) -> None:
    _vol, bk, man = await tampered_backup(backups)
    bomb = zstandard.ZstdCompressor().compress(bytes(512 * MiB))  # ~16 KiB, declares 512 MiB
    assert zstandard.frame_content_size(bomb) == 512 * MiB
    body = chunks.FRAME.pack(chunks.MAGIC, chunks.VERSION, chunks.ZSTD, MiB) + bomb
    client = await swift(backups)
    for dig in man.digests():
        await client.put_object(CONTAINER, chunks.object_name(dig), body)
    tracemalloc.start()
    try:
        vol = await restore_fails(backups, bk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "declares" in (vol.fail_reason or "")
    assert peak < 128 * MiB, peak


async def test_a_chunk_bomb_without_a_declared_size_stops_at_the_chunk_size(
    backups: Rig,
) -> None:
    _vol, bk, man = await tampered_backup(backups)
    cctx = zstandard.ZstdCompressor(write_content_size=False)
    bomb = cctx.compress(bytes(512 * MiB))
    body = chunks.FRAME.pack(chunks.MAGIC, chunks.VERSION, chunks.ZSTD, MiB) + bomb
    client = await swift(backups)
    for dig in man.digests():
        await client.put_object(CONTAINER, chunks.object_name(dig), body)
    tracemalloc.start()
    try:
        vol = await restore_fails(backups, bk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "length" in (vol.fail_reason or "")
    assert peak < 128 * MiB, peak


async def test_an_oversized_chunk_object_is_not_read_whole(backups: Rig) -> None:
    _vol, bk, man = await tampered_backup(backups)
    dig = next(iter(man.digests()))
    big = chunks.FRAME.pack(chunks.MAGIC, chunks.VERSION, chunks.RAW, MiB) + bytes(64 * MiB)
    client = await swift(backups)
    await client.put_object(CONTAINER, chunks.object_name(dig), big)
    vol = await restore_fails(backups, bk)
    assert "over" in (vol.fail_reason or "")


async def test_a_manifest_larger_than_the_backup_writes_nothing_past_the_volume(
    backups: Rig,
) -> None:
    """The manifest claims 1 TiB with a real chunk near its end: before the fix the
    restore wrote it ~1 TiB into a 1 GiB volume's file."""
    _vol, bk, man = await tampered_backup(backups)
    body = manifest_body(man)
    count = (1 << 40) // man.chunk_size
    body["size"] = count * man.chunk_size
    body["chunks"] = [None] * count
    body["chunks"][-1] = man.chunks[0]
    await put_manifest(backups, bk, body)
    vol = await restore_fails(backups, bk)
    assert "manifest" in (vol.fail_reason or "")


async def test_a_manifest_with_tiny_chunks_or_another_backups_id_is_refused(
    backups: Rig,
) -> None:
    target, bk, man = await tampered_backup(backups)
    body = manifest_body(man)
    body["chunk_size"] = 512  # 2M chunks for the same size: a huge list, tiny writes
    body["chunks"] = [None] * (man.size // 512)
    await put_manifest(backups, bk, body)
    await restore_fails(backups, bk, volume_id=target.id)
    body = manifest_body(man)  # small enough to read, but 1 TiB of 64 MiB holes
    body["chunk_size"] = 64 * MiB
    body["size"] = 1 << 40
    body["chunks"] = [None] * ((1 << 40) // (64 * MiB))
    await put_manifest(backups, bk, body)
    vol = await restore_fails(backups, bk, volume_id=target.id)
    assert "differs" in (vol.fail_reason or "")
    body = manifest_body(man)
    body["backup_id"] = "another"
    await put_manifest(backups, bk, body)
    await restore_fails(backups, bk)


async def test_a_huge_manifest_object_is_refused(backups: Rig) -> None:
    _vol, bk, _man = await tampered_backup(backups)
    client = await swift(backups)
    await client.put_object(
        CONTAINER, object_name(bk.id), MAGIC + bytes([VERSION]) + bytes(8 * MiB)
    )
    vol = await restore_fails(backups, bk)
    assert "too large" in (vol.fail_reason or "")
