"""Volumes from images that name host files: refused through the real volume API.

A project's own objects are the image source (``imageRef``), so the volume
service sees whatever a tenant wrote with Swift: nothing the image service
checked. Each attack object makes a naive ``qemu-img convert`` read a host
file (here a secret file, or the identity store's LMDB) into the volume.
"""

from __future__ import annotations

from pathlib import Path

from blockstore.client import VolumeClient
from tests.functional.blockstore.volume.conftest import Rig, start_api
from tests.helpers import badimages
from tests.helpers.badimages import HostSecret


async def _put(rig: Rig, name: str, path: Path) -> str:
    swift = await rig.objects.client("alpha", "alice")
    await swift.put_container("images")
    await swift.put_object("images", name, path.read_bytes())
    return f"images/{name}"


async def test_images_naming_host_files_make_no_volume(backups: Rig, tmp_path: Path) -> None:
    cluster = backups.cluster  # type: ignore[attr-defined]
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
        # A plain qcow2 still makes a volume with its content.
        ref = await _put(backups, "plain", badimages.plain_qcow2(work, b"plain data"))
        made = await client.create_volume(1, imageRef=ref)
        await client.wait_volume(made["id"], "available", timeout=60)
        with open(backups.backend.volume_path(made["id"]), "rb") as f:
            assert f.read(10) == b"plain data"
    finally:
        await api.close()
