"""Volume and snapshot operations on a real manager: good paths and bad input."""

from __future__ import annotations

import pytest

from blockstore.manager import BadRequest, Forbidden, NotFound, OverQuota
from blockstore.manager.core import GiB
from tests.functional.blockstore.volume.conftest import ALICE, BOB, READER, Rig


async def test_create_blank_volume_is_sparse_and_available(volumes: Rig) -> None:
    vol = await volumes.manager.create_volume(ALICE, size=2, name="data")
    assert vol.status == "creating"
    vol = await volumes.wait_status(ALICE, vol.id, "available")
    path = volumes.backend.volume_path(vol.id)
    assert path.stat().st_size == 2 * GiB and path.stat().st_blocks == 0


@pytest.mark.parametrize("size", [0, -1, "abc", 1.5, None, 65])
async def test_bad_sizes_are_refused_and_nothing_is_stored(volumes: Rig, size) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequest):
        await volumes.manager.create_volume(ALICE, size=size)
    assert volumes.manager.list_volumes(ALICE)[0] == []


async def test_projects_are_isolated(volumes: Rig) -> None:
    vol = await volumes.manager.create_volume(ALICE, size=1)
    with pytest.raises(NotFound):
        volumes.manager.get_volume(BOB, vol.id)
    with pytest.raises(NotFound):
        await volumes.manager.delete_volume(BOB, vol.id)
    with pytest.raises(NotFound):
        await volumes.manager.extend_volume(BOB, vol.id, 2)
    assert volumes.manager.list_volumes(BOB)[0] == []


async def test_reader_cannot_write(volumes: Rig) -> None:
    with pytest.raises(Forbidden):
        await volumes.manager.create_volume(READER, size=1)


async def test_quota_volumes_and_gigabytes(volumes: Rig) -> None:
    volumes.manager.settings.quota_defaults.update(volumes=2, gigabytes=3)
    await volumes.manager.create_volume(ALICE, size=2)
    with pytest.raises(OverQuota, match="gigabytes"):
        await volumes.manager.create_volume(ALICE, size=2)
    await volumes.manager.create_volume(ALICE, size=1)
    with pytest.raises(OverQuota, match="volumes"):
        await volumes.manager.create_volume(ALICE, size=1)
    await volumes.manager.create_volume(BOB, size=1)  # another project's quota is its own


async def test_extend_grows_the_file_and_refuses_shrinking(volumes: Rig) -> None:
    vol = await volumes.manager.create_volume(ALICE, size=1)
    await volumes.idle()
    with pytest.raises(BadRequest, match="greater than current"):
        await volumes.manager.extend_volume(ALICE, vol.id, 1)
    await volumes.manager.extend_volume(ALICE, vol.id, 3)
    vol = await volumes.wait_status(ALICE, vol.id, "available")
    assert vol.size == 3 and volumes.backend.volume_size(vol.id) == 3 * GiB


async def test_snapshot_then_clone_keeps_old_bytes(volumes: Rig) -> None:
    vol = await volumes.manager.create_volume(ALICE, size=1)
    await volumes.idle()
    path = volumes.backend.volume_path(vol.id)
    with open(path, "r+b") as f:
        f.write(b"before")
    snap = await volumes.manager.create_snapshot(ALICE, vol.id, name="s1")
    await volumes.idle()
    assert volumes.manager.get_snapshot(ALICE, snap.id).status == "available"
    with open(path, "r+b") as f:
        f.write(b"after!")
    clone = await volumes.manager.create_volume(ALICE, snapshot_id=snap.id)
    clone = await volumes.wait_status(ALICE, clone.id, "available")
    assert clone.size == 1
    with open(volumes.backend.volume_path(clone.id), "rb") as f:
        assert f.read(6) == b"before"
    copy = await volumes.manager.create_volume(ALICE, source_volid=vol.id, size=2)
    copy = await volumes.wait_status(ALICE, copy.id, "available")
    with open(volumes.backend.volume_path(copy.id), "rb") as f:
        assert f.read(6) == b"after!"
    with pytest.raises(BadRequest, match="smaller"):
        await volumes.manager.create_volume(ALICE, size=1, source_volid=copy.id)


async def test_delete_with_snapshots_needs_cascade(volumes: Rig) -> None:
    vol = await volumes.manager.create_volume(ALICE, size=1)
    await volumes.idle()
    snap = await volumes.manager.create_snapshot(ALICE, vol.id)
    await volumes.idle()
    with pytest.raises(BadRequest, match="snapshot"):
        await volumes.manager.delete_volume(ALICE, vol.id)
    await volumes.manager.delete_volume(ALICE, vol.id, cascade=True)
    await volumes.idle()
    with pytest.raises(NotFound):
        volumes.manager.get_volume(ALICE, vol.id)
    with pytest.raises(NotFound):
        volumes.manager.get_snapshot(ALICE, snap.id)
    assert not volumes.backend.snapshot_exists(snap.id)
    assert volumes.backend.volume_size(vol.id) is None


async def test_delete_in_transient_state_is_refused(volumes: Rig) -> None:
    vol = await volumes.manager.create_volume(ALICE, size=1)
    with pytest.raises(BadRequest, match="status must be"):
        await volumes.manager.delete_volume(ALICE, vol.id)  # still creating
    await volumes.idle()


async def test_update_and_metadata_and_filters(volumes: Rig) -> None:
    vol = await volumes.manager.create_volume(ALICE, size=1, name="a", metadata={"k": "v"})
    await volumes.idle()
    await volumes.manager.update_volume(ALICE, vol.id, {"name": "b", "description": "d"})
    meta = await volumes.manager.set_volume_metadata(ALICE, vol.id, {"x": "y"})
    assert meta == {"k": "v", "x": "y"}
    await volumes.manager.delete_volume_metadata(ALICE, vol.id, "k")
    with pytest.raises(NotFound):
        await volumes.manager.delete_volume_metadata(ALICE, vol.id, "k")
    found, _ = volumes.manager.list_volumes(ALICE, filters={"name": "b", "status": "available"})
    assert [v.id for v in found] == [vol.id] and found[0].metadata == {"x": "y"}
    with pytest.raises(BadRequest):
        await volumes.manager.update_volume(ALICE, vol.id, {"size": 5})


async def test_snapshot_quota_and_state_checks(volumes: Rig) -> None:
    volumes.manager.settings.quota_defaults.update(snapshots=1)
    vol = await volumes.manager.create_volume(ALICE, size=1)
    with pytest.raises(BadRequest):
        await volumes.manager.create_snapshot(ALICE, vol.id)  # volume still creating
    await volumes.idle()
    await volumes.manager.create_snapshot(ALICE, vol.id)
    with pytest.raises(OverQuota, match="snapshots"):
        await volumes.manager.create_snapshot(ALICE, vol.id)
    with pytest.raises(NotFound):
        await volumes.manager.create_snapshot(BOB, vol.id)
    await volumes.idle()
