"""Volumes from images that name host files: refused through the real volume API.

A project's own objects are the image source (``imageRef``), so the volume
service sees whatever a tenant wrote with Swift: nothing the image service
checked. Each attack object makes a naive ``qemu-img convert`` read a host
file (here a secret file, or the identity store's LMDB) into the volume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from blockstore.client import VolumeClient
from stratus import diskimage
from tests.functional.blockstore.volume.conftest import Rig, start_api
from tests.helpers import badimages
from tests.helpers.badimages import HostSecret


async def _put(rig: Rig, name: str, path: Path) -> str:
    swift = await rig.objects.client("alpha", "alice")
    await swift.put_container("images")
    await swift.put_object("images", name, path.read_bytes())
    return f"images/{name}"


async def test_images_naming_host_files_make_no_volume(backups: Rig, tmp_path: Path) -> None:
    cluster: Any = backups.cluster  # pyright: ignore[reportAttributeAccessIssue]  # fixture-set
    api = await start_api(backups, cluster.identity)
    try:
        client: VolumeClient = api.client("alpha", "alice")
        secret = HostSecret.make(tmp_path / "host")
        identity_lmdb = cluster.root / "identity" / "data.mdb"
        work = tmp_path / "made"
        work.mkdir()
        attacks = {
            "backing": badimages.qcow2_with_backing(work, secret.path),
            "identity": badimages.qcow2_with_backing(work, identity_lmdb, name="id.qcow2"),
            "datafile": badimages.qcow2_with_data_file(work, secret.path),
            "vmdk": badimages.vmdk_descriptor(work, secret.path),
        }
        for name, path in attacks.items():
            ref = await _put(backups, name, path)
            made = await client.create_volume(1, imageRef=ref, name=name)
            vol = await client.wait_volume(made["id"], ("available", "error"), timeout=60)
            assert vol["status"] == "error", (name, vol)
            assert "refused" in (vol.get("fail_reason") or ""), vol
            assert backups.backend.volume_size(made["id"]) is None, name
        assert secret.seen_anywhere(backups.root) == []
        # A tiny qcow2 that claims 8 TiB: refused before qemu-img writes anything.
        ref = await _put(backups, "huge", badimages.huge_qcow2(work, "8T"))
        made = await client.create_volume(1, imageRef=ref, name="huge")
        vol = await client.wait_volume(made["id"], ("available", "error"), timeout=60)
        assert vol["status"] == "error", vol
        assert "larger than the volume" in (vol.get("fail_reason") or ""), vol
        # A plain qcow2 still makes a volume with its content.
        ref = await _put(backups, "plain", badimages.plain_qcow2(work, b"plain data"))
        made = await client.create_volume(1, imageRef=ref)
        await client.wait_volume(made["id"], "available", timeout=60)
        with open(backups.backend.volume_path(made["id"]), "rb") as f:
            assert f.read(10) == b"plain data"
    finally:
        await api.close()


async def test_a_fooled_inspection_still_converts_with_backing_disabled(
    backups: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second wall: were both inspection passes fooled, ``qemu-img convert`` still opens
    the image with its backing switched off, so the volume holds zeros, not the host file."""
    cluster: Any = backups.cluster  # pyright: ignore[reportAttributeAccessIssue]  # fixture-set
    api = await start_api(backups, cluster.identity)

    async def fooled(path: Path, declared: str, **_: object) -> diskimage.DiskInfo:
        return diskimage.DiskInfo(declared, 2 * badimages.MiB)

    monkeypatch.setattr(diskimage, "inspect_file", fooled)
    try:
        client: VolumeClient = api.client("alpha", "alice")
        secret = HostSecret.make(tmp_path / "host")
        work = tmp_path / "made"
        work.mkdir()
        ref = await _put(backups, "fooled", badimages.qcow2_with_backing(work, secret.path))
        made = await client.create_volume(1, imageRef=ref)
        await client.wait_volume(made["id"], "available", timeout=60)
        with open(backups.backend.volume_path(made["id"]), "rb") as f:
            assert f.read(64) == bytes(64)
        assert secret.seen_anywhere(backups.root) == []
    finally:
        await api.close()
