"""A restart in the middle of each transient state: the records left behind are
resolved from what the disk shows, unfinished deletes finish, nothing is stuck."""

from __future__ import annotations

import pytest

from blockstore.manager import NotFound
from blockstore.manager.core import GiB
from blockstore.manager.records import Attachment, Backup, Snapshot, Volume
from tests.functional.blockstore.volume.conftest import ALICE, Rig


async def put(rig: Rig, *records) -> None:  # type: ignore[no-untyped-def]
    await rig.store.write(lambda t: [t.put(r) for r in records])


async def test_creating_without_a_file_becomes_error(volumes: Rig) -> None:
    vol = Volume(project="alpha", size=1, status="creating", source_volid="gone")
    # A crash mid-copy leaves only a partial file under tmp/.
    (volumes.backend.tmp / f"volumes-{vol.id}.img.part").write_bytes(b"partial")
    await put(volumes, vol)
    done = await volumes.restart()
    assert done.changed[vol.id] == "error"
    assert volumes.manager.get_volume(ALICE, vol.id).fail_reason
    assert list(volumes.backend.tmp.iterdir()) == []


async def test_creating_with_its_file_becomes_available(volumes: Rig) -> None:
    vol = Volume(project="alpha", size=1, status="creating")
    volumes.backend.create_volume(vol.id, GiB)  # the copy finished, the record did not
    await put(volumes, vol)
    await volumes.restart()
    assert volumes.manager.get_volume(ALICE, vol.id).status == "available"


async def test_deleting_finishes_after_restart(volumes: Rig) -> None:
    vol = Volume(project="alpha", size=1, status="deleting", cascade=True)
    snap = Snapshot(project="alpha", volume_id=vol.id, size=1, status="deleting")
    volumes.backend.create_volume(vol.id, GiB)
    volumes.backend.create_volume("tmpsrc", GiB)
    volumes.backend.snapshot_volume("tmpsrc", snap.id)
    await put(volumes, vol, snap)
    done = await volumes.restart()
    assert vol.id in done.resumed
    await volumes.idle()
    with pytest.raises(NotFound):
        volumes.manager.get_volume(ALICE, vol.id)
    with pytest.raises(NotFound):
        volumes.manager.get_snapshot(ALICE, snap.id)
    assert volumes.backend.volume_size(vol.id) is None
    assert not volumes.backend.snapshot_exists(snap.id)


@pytest.mark.parametrize("grown", [True, False])
async def test_extending_settles_on_the_size_the_file_has(volumes: Rig, grown: bool) -> None:
    vol = Volume(project="alpha", size=1, status="extending", extend_to=2,
                 previous_status="available")  # fmt: skip
    volumes.backend.create_volume(vol.id, (2 if grown else 1) * GiB)
    await put(volumes, vol)
    await volumes.restart()
    vol = volumes.manager.get_volume(ALICE, vol.id)
    assert (vol.status, vol.size, vol.extend_to) == ("available", 2 if grown else 1, None)


async def test_attaching_without_an_export_becomes_available(volumes: Rig) -> None:
    vol = Volume(project="alpha", size=1, status="attaching")
    att = Attachment(project="alpha", volume_id=vol.id, status="attaching",
                     connector={"initiator": "iqn.2020-01.test:host"})  # fmt: skip
    volumes.backend.create_volume(vol.id, GiB)
    await put(volumes, vol, att)
    await volumes.restart()
    assert volumes.manager.get_volume(ALICE, vol.id).status == "available"
    with pytest.raises(NotFound):
        volumes.manager.get_attachment(ALICE, att.id)


async def test_detaching_finishes(volumes: Rig) -> None:
    vol = Volume(project="alpha", size=1, status="detaching")
    att = Attachment(project="alpha", volume_id=vol.id, status="detaching")
    volumes.backend.create_volume(vol.id, GiB)
    await put(volumes, vol, att)
    await volumes.restart()
    assert volumes.manager.get_volume(ALICE, vol.id).status == "available"


async def test_snapshot_creating_is_resolved_by_its_file(volumes: Rig) -> None:
    vol = Volume(project="alpha", size=1, status="available")
    volumes.backend.create_volume(vol.id, GiB)
    done_snap = Snapshot(project="alpha", volume_id=vol.id, size=1, status="creating")
    lost_snap = Snapshot(project="alpha", volume_id=vol.id, size=1, status="creating")
    volumes.backend.snapshot_volume(vol.id, done_snap.id)
    await put(volumes, vol, done_snap, lost_snap)
    await volumes.restart()
    assert volumes.manager.get_snapshot(ALICE, done_snap.id).status == "available"
    assert volumes.manager.get_snapshot(ALICE, lost_snap.id).status == "error"


async def test_backing_up_and_restoring_volumes_are_released(volumes: Rig) -> None:
    a = Volume(project="alpha", size=1, status="backing-up", previous_status="available")
    b = Volume(project="alpha", size=1, status="restoring-backup")
    bk = Backup(project="alpha", volume_id=a.id, status="creating")
    for v in (a, b):
        volumes.backend.create_volume(v.id, GiB)
    await put(volumes, a, b, bk)
    await volumes.restart()
    assert volumes.manager.get_volume(ALICE, a.id).status == "available"
    assert volumes.manager.get_volume(ALICE, b.id).status == "error_restoring"


async def test_snapshot_deleting_finishes(volumes: Rig) -> None:
    vol = Volume(project="alpha", size=1, status="available")
    snap = Snapshot(project="alpha", volume_id=vol.id, size=1, status="deleting")
    volumes.backend.create_volume(vol.id, GiB)
    volumes.backend.snapshot_volume(vol.id, snap.id)
    await put(volumes, vol, snap)
    done = await volumes.restart()
    assert snap.id in done.resumed
    await volumes.idle()
    with pytest.raises(NotFound):
        volumes.manager.get_snapshot(ALICE, snap.id)
    assert not volumes.backend.snapshot_exists(snap.id)
