"""PERSISTENT RESERVE IN/OUT, RESERVE/RELEASE(6), and the conflicts they impose."""

from __future__ import annotations

import struct

import pytest

from blockstore.scsi import LogicalUnit, Nexus

from .conftest import NEXUS_A, NEXUS_B, read10, run, sense_of, write10

WE, EA, WERO, EARO, WEAR, EAAR = 1, 3, 5, 6, 7, 8
NEXUS_C = Nexus("iqn.2024-01.test:c,i,0x400001370002", "iqn.2024-01.test:t,t,0x0001")


def prout(sa: int, key: int = 0, sa_key: int = 0, rtype: int = 0, flags: int = 0):
    cdb = struct.pack(">BBBHIB", 0x5F, sa, rtype, 0, 24, 0)
    params = struct.pack(">QQ4xBBH", key, sa_key, flags, 0, 0)
    return cdb, params


async def out(lu: LogicalUnit, nexus: Nexus, sa: int, key=0, sa_key=0, rtype=0, flags=0):
    cdb, params = prout(sa, key, sa_key, rtype, flags)
    return await run(lu, cdb, params, nexus=nexus)


async def pin(lu: LogicalUnit, sa: int, nexus: Nexus = NEXUS_A, alloc: int = 1024) -> bytes:
    res = await run(lu, struct.pack(">BB5xHB", 0x5E, sa, alloc, 0), nexus=nexus)
    assert res.status == 0
    return bytes(res.data)


def keys_of(data: bytes) -> tuple[int, list[int]]:
    gen, length = struct.unpack(">II", data[:8])
    return gen, [struct.unpack(">Q", data[8 + i : 16 + i])[0] for i in range(0, length, 8)]


REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT_ABORT, REG_IGNORE = range(7)


async def test_register_read_keys_and_generation(lu: LogicalUnit) -> None:
    assert (await out(lu, NEXUS_A, REGISTER, sa_key=0xA)).status == 0
    assert (await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)).status == 0
    gen, keys = keys_of(await pin(lu, 0))
    assert keys == [0xA, 0xB] and gen == 2
    # wrong current key: conflict; unregistered nexus naming a key: conflict
    assert (await out(lu, NEXUS_A, REGISTER, key=0xBAD, sa_key=0xC)).status == 0x18
    assert (await out(lu, NEXUS_C, REGISTER, key=0xA, sa_key=0xC)).status == 0x18
    assert (await out(lu, NEXUS_A, REGISTER, key=0xA, sa_key=0)).status == 0  # unregister
    gen, keys = keys_of(await pin(lu, 0))
    assert keys == [0xB] and gen == 3
    truncated = await pin(lu, 0, alloc=8)
    assert len(truncated) == 8 and struct.unpack(">I", truncated[4:8])[0] == 8


async def test_refused_options_and_bad_lengths(lu: LogicalUnit) -> None:
    assert sense_of(await out(lu, NEXUS_A, REGISTER, sa_key=1, flags=0x01))[:2] == (0x05, 0x26)
    assert sense_of(await out(lu, NEXUS_A, REGISTER, sa_key=1, flags=0x04))[:2] == (0x05, 0x26)
    cdb = struct.pack(">BBBHIB", 0x5F, 0, 0, 0, 23, 0)
    assert sense_of(await run(lu, cdb, bytes(23))) == (0x05, 0x1A, 0x00)
    await out(lu, NEXUS_A, REGISTER, sa_key=1)
    assert sense_of(await out(lu, NEXUS_A, RESERVE, key=1, rtype=2))[:2] == (0x05, 0x24)
    assert sense_of(await out(lu, NEXUS_A, RESERVE, key=1, rtype=0x11))[:2] == (0x05, 0x24)
    res = await run(lu, struct.pack(">BB5xHB", 0x5E, 4, 64, 0))
    assert sense_of(res)[:2] == (0x05, 0x24)


ACCESS = [  # type, registered B can read, write, unregistered B can read, write
    (EA, False, False, False, False),
    (WE, True, False, True, False),
    (EARO, True, True, False, False),
    (WERO, True, True, True, False),
    (EAAR, True, True, False, False),
    (WEAR, True, True, True, False),
]


@pytest.mark.parametrize("rtype,reg_r,reg_w,unreg_r,unreg_w", ACCESS)
async def test_access_under_each_reservation_type(lu, rtype, reg_r, reg_w, unreg_r, unreg_w):
    async def can(nexus: Nexus) -> tuple[bool, bool]:
        r = await run(lu, read10(0, 1), nexus=nexus)
        w = await run(lu, write10(0, 1), bytes(512), nexus=nexus)
        for res in (r, w):
            assert res.status in (0, 0x18)
        return r.status == 0, w.status == 0

    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)
    assert (await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=rtype)).status == 0
    data = await pin(lu, 1)
    key, scope_type = struct.unpack(">Q4xxB", data[8:22])
    assert scope_type == rtype and key == (0 if rtype in (WEAR, EAAR) else 0xA)
    assert await can(NEXUS_A) == (True, True)
    assert await can(NEXUS_B) == (reg_r, reg_w)
    assert (await out(lu, NEXUS_B, REGISTER, key=0xB)).status == 0  # unregister B
    assert await can(NEXUS_B) == (unreg_r, unreg_w)
    assert (await out(lu, NEXUS_A, RELEASE, key=0xA, rtype=rtype)).status == 0
    assert await can(NEXUS_B) == (True, True)


async def test_reserve_conflicts_and_release_rules(lu: LogicalUnit) -> None:
    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)
    assert (await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=WE)).status == 0
    assert (await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=WE)).status == 0  # again: fine
    assert (await out(lu, NEXUS_B, RESERVE, key=0xB, rtype=WE)).status == 0x18
    assert (await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=EA)).status == 0x18
    assert (await out(lu, NEXUS_B, RELEASE, key=0xB, rtype=WE)).status == 0  # not holder: no-op
    assert sense_of(await out(lu, NEXUS_A, RELEASE, key=0xA, rtype=EA)) == (0x05, 0x26, 0x04)
    assert (await out(lu, NEXUS_A, RELEASE, key=0xA, rtype=WE)).status == 0
    assert struct.unpack(">I", (await pin(lu, 1))[4:8])[0] == 0


async def test_unregistering_the_holder_of_a_registrants_only_type(lu: LogicalUnit) -> None:
    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)
    await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=WERO)
    await out(lu, NEXUS_A, REGISTER, key=0xA)
    assert struct.unpack(">I", (await pin(lu, 1))[4:8])[0] == 0
    assert sense_of(await run(lu, bytes(6), nexus=NEXUS_B)) == (0x06, 0x2A, 0x04)


async def test_all_registrants_reservation_outlives_its_creator(lu: LogicalUnit) -> None:
    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)
    await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=EAAR)
    await out(lu, NEXUS_A, REGISTER, key=0xA)
    assert (await pin(lu, 1))[21] == EAAR
    assert (await out(lu, NEXUS_B, RELEASE, key=0xB, rtype=EAAR)).status == 0


async def test_clear_removes_everything_and_tells_the_others(lu: LogicalUnit) -> None:
    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)
    await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=EA)
    assert (await out(lu, NEXUS_B, CLEAR, key=0xBAD)).status == 0x18
    assert (await out(lu, NEXUS_B, CLEAR, key=0xB)).status == 0
    assert keys_of(await pin(lu, 0, nexus=NEXUS_B))[1] == []
    assert sense_of(await run(lu, bytes(6))) == (0x06, 0x2A, 0x03)


async def test_preempt_removes_a_registration_without_reservation(lu: LogicalUnit) -> None:
    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)
    gen = keys_of(await pin(lu, 0))[0]
    assert (await out(lu, NEXUS_B, PREEMPT, key=0xB, sa_key=0xA, rtype=EA)).status == 0
    assert sense_of(await run(lu, bytes(6))) == (0x06, 0x2A, 0x05)
    assert keys_of(await pin(lu, 0)) == (gen + 1, [0xB])
    assert (await out(lu, NEXUS_B, PREEMPT, key=0xB, sa_key=0x99, rtype=EA)).status == 0x18
    res = await out(lu, NEXUS_B, PREEMPT, key=0xB, sa_key=0, rtype=EA)
    assert sense_of(res)[:2] == (0x05, 0x26)


async def test_preempt_takes_over_the_reservation(lu: LogicalUnit) -> None:
    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)
    await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=WE)
    assert (await out(lu, NEXUS_B, PREEMPT_ABORT, key=0xB, sa_key=0xA, rtype=EA)).status == 0
    data = await pin(lu, 1, nexus=NEXUS_B)
    assert struct.unpack(">Q", data[8:16])[0] == 0xB and data[21] == EA
    assert (await run(lu, read10(0, 1))).status == 0x02  # A: the preemption UA first
    assert (await run(lu, read10(0, 1))).status == 0x18  # then: no longer registered


async def test_report_capabilities_and_full_status(lu: LogicalUnit) -> None:
    caps = await pin(lu, 2)
    assert struct.unpack(">H", caps[:2])[0] == 8 and caps[3] & 0x80
    mask = struct.unpack(">H", caps[4:6])[0]
    assert mask == 0x80 << 8 | 0x40 << 8 | 0x20 << 8 | 0x08 << 8 | 0x02 << 8 | 0x01
    await out(lu, NEXUS_A, REG_IGNORE, sa_key=0xA)
    await out(lu, NEXUS_A, RESERVE, key=0xA, rtype=WE)
    data = await pin(lu, 3)
    _gen, length = struct.unpack(">II", data[:8])
    assert length == len(data) - 8
    key, holder, rtype, rel, tid_len = struct.unpack(">Q4xBB4xHI", data[8:32])
    assert (key, holder & 0x01, rtype, rel) == (0xA, 1, WE, 1)
    tid = data[32 : 32 + tid_len]
    assert tid[0] == 0x45 and tid[4:].rstrip(b"\x00") == NEXUS_A.initiator_port.encode()
    assert tid_len % 4 == 0


async def test_reserve6_excludes_other_nexuses_until_release(lu: LogicalUnit) -> None:
    reserve6, release6 = bytes((0x16, 0, 0, 0, 0, 0)), bytes((0x17, 0, 0, 0, 0, 0))
    mode_sense = bytes((0x1A, 0, 0x3F, 0, 255, 0))
    assert (await run(lu, reserve6)).status == 0
    assert (await run(lu, reserve6)).status == 0
    assert (await run(lu, reserve6, nexus=NEXUS_B)).status == 0x18
    assert (await run(lu, release6, nexus=NEXUS_B)).status == 0  # a no-op
    assert (await run(lu, mode_sense)).status == 0
    assert (await run(lu, mode_sense, nexus=NEXUS_B)).status == 0x18
    assert (await run(lu, bytes((0x12, 0, 0, 0, 36, 0)), nexus=NEXUS_B)).status == 0
    lu.nexus_lost(NEXUS_A)
    assert (await run(lu, reserve6, nexus=NEXUS_B)).status == 0
    assert (await run(lu, bytes(6))).status == 0x18  # A logs in again: B holds it now
    lu.reset()
    assert (await run(lu, reserve6)).status == 0x02  # the reset's unit attention
    assert (await run(lu, reserve6)).status == 0
    await run(lu, release6)
    assert sense_of(await run(lu, bytes(6), nexus=NEXUS_B))[0] == 0x06
    assert (await out(lu, NEXUS_B, REG_IGNORE, sa_key=0xB)).status == 0
    assert (await run(lu, reserve6)).status == 0x18  # registrations exist
