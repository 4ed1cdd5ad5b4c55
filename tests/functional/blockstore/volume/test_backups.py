"""Backups into a real object store: chunks deduplicated and compressed, full and
incremental, restore into new and existing volumes, delete frees only unshared
chunks, verify finds corruption, restarts resolve backups in flight."""

from __future__ import annotations

import os

import pytest

from blockstore.backup import chunks
from blockstore.backup.manifest import Manifest, object_name
from blockstore.manager import BadRequest, NotFound, OverQuota
from blockstore.manager.records import Backup, Volume
from tests.functional.blockstore.volume.conftest import ALICE, BOB, Rig

MiB = 1024 * 1024


async def volume_with(rig: Rig, writes: dict[int, bytes]) -> Volume:
    vol = await rig.manager.create_volume(ALICE, size=1)
    await rig.idle()
    with open(rig.backend.volume_path(vol.id), "r+b") as f:
        for offset, data in writes.items():
            f.seek(offset)
            f.write(data)
    return vol


def read(rig: Rig, volume_id: str, offset: int, n: int) -> bytes:
    with open(rig.backend.volume_path(volume_id), "rb") as f:
        f.seek(offset)
        return f.read(n)


async def swift(rig: Rig):  # type: ignore[no-untyped-def]
    return await rig.objects.client("alpha", "alice")


async def chunk_names(rig: Rig) -> set[str]:
    client = await swift(rig)
    return {o.name async for o in client.iter_objects("volume_backups", prefix="chunks/")}


async def backed_up(rig: Rig, vol: Volume, **kw) -> Backup:  # type: ignore[no-untyped-def]
    bk = await rig.manager.create_backup(ALICE, vol.id, **kw)
    await rig.idle()
    bk = rig.manager.get_backup(ALICE, bk.id)
    assert bk.status == "available", bk.fail_reason
    return bk


async def test_full_backup_dedups_compresses_and_restores(backups: Rig) -> None:
    rnd = os.urandom(MiB)
    text = b"stratus " * (MiB // 8)
    vol = await volume_with(backups, {0: rnd, 2 * MiB: rnd, 5 * MiB: text, 9 * MiB: bytes(MiB)})
    bk = await backed_up(backups, vol, name="full")
    assert backups.manager.get_volume(ALICE, vol.id).status == "available"
    # chunks 0 and 2 are the same bytes, 9 is zeros: two distinct chunk objects
    assert (bk.object_count, bk.chunk_count, bk.progress) == (2, 1024, 100.0)
    assert bk.stored_bytes < MiB + MiB // 4  # the text chunk compressed well
    assert len(await chunk_names(backups)) == 2
    _bk, new = await backups.manager.restore_backup(ALICE, bk.id, name="copy")
    await backups.idle()
    new = backups.manager.get_volume(ALICE, new.id)
    assert (new.status, new.size, new.backup_id, new.name) == ("available", 1, bk.id, "copy")
    for offset in (0, 2 * MiB, 5 * MiB, 9 * MiB, 700 * MiB):
        assert read(backups, new.id, offset, MiB) == read(backups, vol.id, offset, MiB)


async def test_incremental_uploads_only_changes_and_delete_keeps_shared_chunks(
    backups: Rig,
) -> None:
    vol = await volume_with(backups, {0: os.urandom(MiB), 3 * MiB: os.urandom(MiB)})
    with pytest.raises(BadRequest, match="No backups available"):
        await backups.manager.create_backup(ALICE, vol.id, incremental=True)
    full = await backed_up(backups, vol)
    with open(backups.backend.volume_path(vol.id), "r+b") as f:
        f.seek(3 * MiB)
        f.write(os.urandom(MiB))
    inc = await backed_up(backups, vol, incremental=True)
    assert inc.incremental and inc.parent_id == full.id and inc.object_count == 1
    assert len(await chunk_names(backups)) == 3
    assert backups.manager.backup_has_dependents(ALICE, full)
    await backups.manager.delete_backup(ALICE, full.id)
    await backups.idle()
    with pytest.raises(NotFound):
        backups.manager.get_backup(ALICE, full.id)
    assert len(await chunk_names(backups)) == 2  # chunk 0 is still the incremental's
    target = await volume_with(backups, {0: b"junk" * 1024, 3 * MiB: b"x" * MiB})
    await backups.manager.restore_backup(ALICE, inc.id, volume_id=target.id)
    await backups.idle()
    assert backups.manager.get_volume(ALICE, target.id).status == "available"
    assert read(backups, target.id, 0, 4 * MiB) == read(backups, vol.id, 0, 4 * MiB)
    await backups.manager.delete_backup(ALICE, inc.id)
    await backups.idle()
    assert await chunk_names(backups) == set()


async def test_restore_into_a_smaller_or_busy_volume_is_refused(backups: Rig) -> None:
    vol = await volume_with(backups, {0: b"a" * 4096})
    await backups.manager.extend_volume(ALICE, vol.id, 2)
    await backups.idle()
    bk = await backed_up(backups, vol)
    small = await volume_with(backups, {})
    with pytest.raises(BadRequest, match="smaller"):
        await backups.manager.restore_backup(ALICE, bk.id, volume_id=small.id)
    with pytest.raises(NotFound):
        await backups.manager.restore_backup(BOB, bk.id)
    with pytest.raises(NotFound):
        backups.manager.get_backup(BOB, bk.id)


async def test_verify_finds_a_corrupt_chunk(backups: Rig) -> None:
    vol = await volume_with(backups, {0: os.urandom(MiB)})
    bk = await backed_up(backups, vol)
    await backups.manager.verify_backup(ALICE, bk.id)
    await backups.idle()
    assert backups.manager.get_backup(ALICE, bk.id).verify_result["ok"] is True
    client = await swift(backups)
    man = Manifest.decode(await client.get_object("volume_backups", object_name(bk.id)))
    (dig,) = man.digests()
    body = bytearray(await client.get_object("volume_backups", chunks.object_name(dig)))
    body[-1] ^= 0xFF
    await client.put_object("volume_backups", chunks.object_name(dig), bytes(body))
    await backups.manager.verify_backup(ALICE, bk.id)
    await backups.idle()
    result = backups.manager.get_backup(ALICE, bk.id).verify_result
    assert result["ok"] is False and result["corrupt"] == [dig.hex()]
    _bk, new = await backups.manager.restore_backup(ALICE, bk.id)
    await backups.idle()
    assert backups.manager.get_volume(ALICE, new.id).status == "error_restoring"


async def test_backup_quota_and_states(backups: Rig) -> None:
    backups.manager.settings.quota_defaults["backups"] = 1
    vol = await volume_with(backups, {})
    await backed_up(backups, vol)
    with pytest.raises(OverQuota, match="backups"):
        await backups.manager.create_backup(ALICE, vol.id)
    _att, _ = await backups.manager.reserve(ALICE, vol.id)
    backups.manager.settings.quota_defaults["backups"] = 5
    with pytest.raises(BadRequest, match="status must be"):
        await backups.manager.create_backup(ALICE, vol.id)


async def test_in_use_volume_needs_force_and_reads_a_snapshot(backups: Rig) -> None:
    vol = await volume_with(backups, {0: b"live" * 1024})
    await backups.store.write(lambda t: _set_status(t, vol, "in-use"))
    with pytest.raises(BadRequest):
        await backups.manager.create_backup(ALICE, vol.id)
    bk = await backed_up(backups, vol, force=True)
    assert bk.object_count == 1
    assert list(backups.backend.snapshots.iterdir()) == []  # the temporary snapshot is gone


def _set_status(t, vol: Volume, status: str) -> None:  # type: ignore[no-untyped-def]
    cur = t.get(Volume, vol.project, vol.id)
    cur.status = status
    t.put(cur)


async def test_restart_resolves_backups_in_flight(backups: Rig) -> None:
    vol = await volume_with(backups, {0: os.urandom(MiB)})
    done = await backed_up(backups, vol)
    creating = Backup(
        project="alpha",
        user="alice",
        volume_id=vol.id,
        status="creating",
        container="volume_backups",
    )
    deleting = Backup(
        id=done.id,
        project="alpha",
        user="alice",
        volume_id=vol.id,
        size=done.size,  # a manifest must match its record's size
        status="deleting",
        container="volume_backups",
    )
    await backups.store.write(lambda t: [t.put(creating), t.put(deleting)])
    orphan = chunks.digest(b"left by a crashed backup")  # a chunk no manifest names
    client = await swift(backups)
    await client.put_object("volume_backups", chunks.object_name(orphan), b"x")
    out = await backups.restart()
    assert out.changed[creating.id] == "error" and done.id in out.resumed
    await backups.idle()
    with pytest.raises(NotFound):
        backups.manager.get_backup(ALICE, done.id)
    assert await chunk_names(backups) == set()
