"""Volumes from image objects (raw and qcow2), thick types, and QoS limits that the
target really applies to an initiator's reads and writes."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from blockstore.export.qos import Limiter
from blockstore.manager import BadRequest
from blockstore.manager.core import GiB
from tests.functional.blockstore.iscsi.initiator import session
from tests.functional.blockstore.volume.conftest import ADMIN, ALICE, Rig
from tests.helpers.tools import need_tool

MiB = 1024 * 1024
HOST = "iqn.2024-01.org.stratus.test:qos-host"


async def upload(rig: Rig, name: str, body: bytes) -> str:
    client = await rig.objects.client("alpha", "alice")
    await client.put_container("images")
    await client.put_object("images", name, body)
    return f"images/{name}"


async def test_volume_from_a_raw_image_is_sparse_and_identical(backups: Rig) -> None:
    image = os.urandom(MiB) + bytes(6 * MiB) + b"tail" * 1024
    ref = await upload(backups, "disk.raw", image)
    vol = await backups.manager.create_volume(ALICE, size=1, image_ref=ref)
    vol = await backups.wait_status(ALICE, vol.id, "available")
    path = backups.backend.volume_path(vol.id)
    assert vol.bootable and path.stat().st_size == GiB
    assert path.stat().st_blocks * 512 < 4 * MiB  # the zero megabytes were not written
    with open(path, "rb") as f:
        assert f.read(len(image)) == image


async def test_volume_from_a_qcow2_image(backups: Rig, tmp_path: Path) -> None:
    qemu_img = need_tool("qemu-img", "qemu-utils")
    raw = tmp_path / "src.raw"
    raw.write_bytes(b"q" * MiB + bytes(MiB) + b"2" * 4096)
    qcow = tmp_path / "src.qcow2"
    subprocess.run(
        [qemu_img, "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow)],
        check=True,
        capture_output=True,
    )
    ref = await upload(backups, "disk.qcow2", qcow.read_bytes())
    vol = await backups.manager.create_volume(ALICE, size=1, image_ref=ref)
    vol = await backups.wait_status(ALICE, vol.id, "available")
    with open(backups.backend.volume_path(vol.id), "rb") as f:
        assert f.read(raw.stat().st_size) == raw.read_bytes()


async def test_bad_image_refs(backups: Rig) -> None:
    for bad in ("no-slash", "/obj", "cont/", 7):
        with pytest.raises(BadRequest):
            await backups.manager.create_volume(ALICE, size=1, image_ref=bad)
    vol = await backups.manager.create_volume(ALICE, size=1, image_ref="images/missing")
    vol = await backups.wait_status(ALICE, vol.id, "error")
    assert "404" in (vol.fail_reason or "")
    assert backups.backend.volume_size(vol.id) is None


async def test_thick_type_allocates_the_whole_volume(volumes: Rig) -> None:
    vt = await volumes.manager.create_type(
        ADMIN, "thick", extra_specs={"provisioning:type": "thick"}
    )
    vol = await volumes.manager.create_volume(ALICE, size=1, volume_type=vt.id)
    await volumes.wait_status(ALICE, vol.id, "available")
    assert volumes.backend.volume_path(vol.id).stat().st_blocks * 512 >= GiB


async def test_qos_limits_hold_back_an_initiators_commands(targeted: Rig) -> None:
    qos = await targeted.manager.create_qos(ADMIN, "tiny", "back-end", {"total_iops_sec": "2"})
    vt = await targeted.manager.create_type(ADMIN, "tiny")
    await targeted.manager.associate_qos(ADMIN, qos.id, vt.id)
    vol = await targeted.manager.create_volume(ALICE, size=1, volume_type="tiny")
    await targeted.idle()
    _att, info = await targeted.manager.reserve(ALICE, vol.id, connector={"initiator": HOST})
    d = info["data"]
    unit = targeted.driver.unit(d["target_iqn"])
    waits: list[float] = []

    async def record(seconds: float) -> None:  # count the pauses instead of sleeping them
        waits.append(seconds)
        await asyncio.sleep(0)

    # A frozen clock: no refill between commands, so the pauses are exact.
    unit.limiter = Limiter(unit.limiter.limits.items(), clock=lambda: 0.0, sleep=record)
    host, port = d["target_portal"].rsplit(":", 1)
    async with session(
        host, int(port), d["target_iqn"], name=HOST, chap=(d["auth_username"], d["auth_password"])
    ) as ini:
        for lba in range(5):
            assert (await ini.read16(lba, 1)).status in (0, 2)
        assert (await ini.test_unit_ready()).status in (0, 2)  # not a data command: never held
    assert waits == [0.5, 1.0, 1.5]  # 2 IOPS: the 3rd, 4th and 5th reads wait their turn


async def _caching_page_wce(ini) -> bool:  # type: ignore[no-untyped-def]
    """MODE SENSE(6), caching page, no block descriptors: the WCE bit an initiator sees."""
    reply = await ini.command(bytes([0x1A, 0x08, 0x08, 0, 255, 0]), read_len=255)
    page = reply.data[4:]
    assert page[0] & 0x3F == 0x08
    return bool(page[2] & 0x04)


@pytest.mark.parametrize(("spec", "wce"), [(None, True), ("<is> False", False), ("True", True)])
async def test_a_types_write_cache_spec_is_what_the_initiator_sees(
    targeted: Rig, spec: str | None, wce: bool
) -> None:
    specs = {} if spec is None else {"write_cache": spec}
    vt = await targeted.manager.create_type(ADMIN, "cache", extra_specs=specs)
    vol = await targeted.manager.create_volume(ALICE, size=1, volume_type=vt.id)
    await targeted.idle()
    _att, info = await targeted.manager.reserve(ALICE, vol.id, connector={"initiator": HOST})
    d = info["data"]
    host, port = d["target_portal"].rsplit(":", 1)
    async with session(
        host, int(port), d["target_iqn"], name=HOST, chap=(d["auth_username"], d["auth_password"])
    ) as ini:
        assert await _caching_page_wce(ini) is wce


async def test_write_cache_spec_is_validated(volumes: Rig) -> None:
    with pytest.raises(BadRequest, match="write_cache"):
        await volumes.manager.create_type(ADMIN, "bad", extra_specs={"write_cache": "maybe"})
