"""Attachments through the built-in target: CHAP per attachment, ACL per initiator,
read-only mode, multiattach, extend while attached, detach ends sessions, restart
re-exports. A small test initiator logs in with what the connection info says."""

from __future__ import annotations

import struct

import pytest

from blockstore.manager import BadRequest, NotFound
from blockstore.manager.core import GiB
from tests.functional.blockstore.iscsi.initiator import Initiator, LoginError, session
from tests.functional.blockstore.volume.conftest import ADMIN, ALICE, BOB, Rig

HOST_A = "iqn.2024-01.org.stratus.test:host-a"
HOST_B = "iqn.2024-01.org.stratus.test:host-b"
DATA_PROTECT, UNIT_ATTENTION = 0x7, 0x6


def portal(info: dict) -> tuple[str, int]:
    host, port = info["data"]["target_portal"].rsplit(":", 1)
    return host, int(port)


def login_kw(info: dict, name: str = HOST_A) -> dict:
    d = info["data"]
    return {"name": name, "chap": (d["auth_username"], d["auth_password"])}


async def read_capacity(ini: Initiator):  # type: ignore[no-untyped-def]
    cdb = bytes([0x9E, 0x10]) + bytes(8) + struct.pack(">I", 32) + bytes(2)
    return await ini.command(cdb, read_len=32)


async def attached(rig: Rig, caller=ALICE, size=1, initiator=HOST_A, **kw):  # type: ignore[no-untyped-def]
    vol = await rig.manager.create_volume(caller, size=size, **kw)
    await rig.idle()
    att, info = await rig.manager.reserve(caller, vol.id, connector={"initiator": initiator})
    await rig.manager.complete_attachment(caller, att.id, mountpoint="/dev/vdb")
    return vol, att, info


async def test_attach_gives_os_brick_info_and_chap_protects_the_lun(targeted: Rig) -> None:
    vol, _att, info = await attached(targeted)
    d = info["data"]
    assert info["driver_volume_type"] == "iscsi"
    assert d["target_iqn"].endswith(f":volume-{vol.id}") and d["target_lun"] == 0
    assert d["auth_method"] == "CHAP" and len(d["auth_password"]) >= 12
    assert d["access_mode"] == "rw" and d["volume_id"] == vol.id
    assert targeted.manager.get_volume(ALICE, vol.id).status == "in-use"
    host, port = portal(info)
    async with session(host, port, d["target_iqn"], **login_kw(info)) as ini:
        assert (await ini.write16(8, b"x" * 512)).status == 0
        assert (await ini.read16(8, 1)).data == b"x" * 512
    with open(targeted.backend.volume_path(vol.id), "rb") as f:
        f.seek(8 * 512)
        assert f.read(512) == b"x" * 512
    with pytest.raises(LoginError):  # the right user, a wrong secret
        async with session(
            host, port, d["target_iqn"], name=HOST_A, chap=(d["auth_username"], "wrong-secret-123")
        ):
            pass
    with pytest.raises(LoginError):  # another initiator, even with the credentials
        async with session(host, port, d["target_iqn"], **login_kw(info, HOST_B)):
            pass


async def test_in_use_volume_cannot_be_deleted_and_detach_ends_sessions(targeted: Rig) -> None:
    vol, att, info = await attached(targeted)
    with pytest.raises(BadRequest, match="attached"):
        await targeted.manager.delete_volume(ALICE, vol.id)
    host, port = portal(info)
    ini = Initiator(host, port, name=HOST_A)
    await ini.connect()
    try:
        await ini.login(info["data"]["target_iqn"], chap=login_kw(info)["chap"])
        left = await targeted.manager.delete_attachment(ALICE, att.id)
        assert left == []
        await ini.wait_closed(timeout=10)
    finally:
        ini.close()
    assert targeted.manager.get_volume(ALICE, vol.id).status == "available"
    with pytest.raises(LoginError):
        async with session(host, port, info["data"]["target_iqn"], **login_kw(info)):
            pass
    await targeted.manager.delete_volume(ALICE, vol.id)
    await targeted.idle()


async def test_read_only_attachment_refuses_writes(targeted: Rig) -> None:
    vol = await targeted.manager.create_volume(ALICE, size=1)
    await targeted.idle()
    _att, info = await targeted.manager.reserve(
        ALICE, vol.id, mode="ro", connector={"initiator": HOST_A}
    )
    assert info["data"]["access_mode"] == "ro"
    async with session(*portal(info), info["data"]["target_iqn"], **login_kw(info)) as ini:
        reply = await ini.write16(0, b"y" * 512)
        assert reply.status == 2 and reply.sense_key == DATA_PROTECT


async def test_single_attach_refuses_a_second_and_multiattach_allows_it(targeted: Rig) -> None:
    vol, _att, _info = await attached(targeted)
    with pytest.raises(BadRequest, match="multiattach"):
        await targeted.manager.reserve(ALICE, vol.id, connector={"initiator": HOST_B})
    vt = await targeted.manager.create_type(
        ADMIN, "shared", extra_specs={"multiattach": "<is> True"}
    )
    multi, _a, info_a = await attached(targeted, volume_type=vt.name)
    assert multi.multiattach
    _b, info_b = await targeted.manager.reserve(ALICE, multi.id, connector={"initiator": HOST_B})
    assert info_a["data"]["auth_username"] != info_b["data"]["auth_username"]
    with pytest.raises(BadRequest, match="already has"):
        await targeted.manager.reserve(ALICE, multi.id, connector={"initiator": HOST_B})
    iqn = info_a["data"]["target_iqn"]
    async with (
        session(*portal(info_a), iqn, **login_kw(info_a, HOST_A)) as a,
        session(*portal(info_b), iqn, **login_kw(info_b, HOST_B)) as b,
    ):
        assert (await a.write16(0, b"m" * 512)).status == 0
        assert (await b.read16(0, 1)).data == b"m" * 512


async def test_extend_while_attached_raises_capacity_changed(targeted: Rig) -> None:
    vol, _att, info = await attached(targeted)
    async with session(*portal(info), info["data"]["target_iqn"], **login_kw(info)) as ini:
        reply = await read_capacity(ini)
        if reply.sense_key == UNIT_ATTENTION:  # the power-on attention of a new nexus
            reply = await read_capacity(ini)
        assert struct.unpack(">Q", reply.data[:8])[0] + 1 == GiB // 512
        await targeted.manager.extend_volume(ALICE, vol.id, 2)
        vol = await targeted.wait_status(ALICE, vol.id, "in-use")
        assert vol.size == 2
        reply = await read_capacity(ini)
        assert reply.sense_key == UNIT_ATTENTION and reply.sense[12:14] == b"\x2a\x09"
        reply = await read_capacity(ini)
        assert struct.unpack(">Q", reply.data[:8])[0] + 1 == 2 * GiB // 512


async def test_restart_re_exports_in_use_volumes(targeted: Rig) -> None:
    vol, _att, info = await attached(targeted)
    done = await targeted.restart()
    assert vol.id in done.exported
    assert targeted.manager.get_volume(ALICE, vol.id).status == "in-use"
    async with session(*portal(info), info["data"]["target_iqn"], **login_kw(info)) as ini:
        assert (await ini.test_unit_ready()).status in (0, 2)


async def test_qos_spec_reaches_the_lun(targeted: Rig) -> None:
    qos = await targeted.manager.create_qos(
        ADMIN, "slow", "back-end", {"total_iops_sec": "100", "read_bytes_sec": "1048576"}
    )
    vt = await targeted.manager.create_type(ADMIN, "limited")
    await targeted.manager.associate_qos(ADMIN, qos.id, vt.id)
    _vol, _att, info = await attached(targeted, volume_type="limited")
    unit = targeted.driver.unit(info["data"]["target_iqn"])
    assert unit.limiter.limits == {"total_iops_sec": 100, "read_bytes_sec": 1048576}
    await targeted.manager.update_qos(ADMIN, qos.id, {"total_iops_sec": "50"})
    await targeted.idle()
    assert unit.limiter.limits["total_iops_sec"] == 50


async def test_bad_connectors_and_other_projects(targeted: Rig) -> None:
    vol = await targeted.manager.create_volume(ALICE, size=1)
    await targeted.idle()
    for bad in ({}, {"initiator": "not-an-iqn"}, "iqn.2024-01.x:y", {"initiator": 7}):
        with pytest.raises(BadRequest):
            await targeted.manager.reserve(ALICE, vol.id, connector=bad)
    assert targeted.manager.get_volume(ALICE, vol.id).status == "available"
    att, _ = await targeted.manager.reserve(ALICE, vol.id)
    assert targeted.manager.get_volume(ALICE, vol.id).status == "attaching"
    with pytest.raises(NotFound):
        targeted.manager.get_attachment(BOB, att.id)
    with pytest.raises(NotFound):
        await targeted.manager.reserve(BOB, vol.id)
    with pytest.raises(BadRequest, match="no connection"):
        await targeted.manager.complete_attachment(ALICE, att.id)
    await targeted.manager.unreserve(ALICE, vol.id)
    assert targeted.manager.get_volume(ALICE, vol.id).status == "available"


async def test_legacy_actions_flow(targeted: Rig) -> None:
    vol = await targeted.manager.create_volume(ALICE, size=1)
    await targeted.idle()
    await targeted.manager.reserve(ALICE, vol.id)
    info = await targeted.manager.initialize_connection(ALICE, vol.id, {"initiator": HOST_A})
    att = await targeted.manager.attach_legacy(
        ALICE, vol.id, instance_uuid="vm-1", mountpoint="/dev/vdb"
    )
    assert att.status == "attached" and info["data"]["auth_method"] == "CHAP"
    await targeted.manager.begin_detaching(ALICE, vol.id)
    assert targeted.manager.get_volume(ALICE, vol.id).status == "detaching"
    await targeted.manager.begin_detaching(ALICE, vol.id, roll=True)
    assert targeted.manager.get_volume(ALICE, vol.id).status == "in-use"
    await targeted.manager.terminate_connection(ALICE, vol.id, {"initiator": HOST_A})
    assert await targeted.driver.list_exports() == []
    await targeted.manager.detach_legacy(ALICE, vol.id, att.id)
    assert targeted.manager.get_volume(ALICE, vol.id).status == "available"
