"""Dispatch, unit attentions and the shared checks of LogicalUnit."""

from __future__ import annotations

import struct

from blockstore.scsi import LogicalUnit

from .conftest import NEXUS_A, NEXUS_B, inquiry, run, sense_of

TUR = bytes(6)


async def test_unknown_opcode_is_invalid_command_operation_code(lu: LogicalUnit) -> None:
    assert sense_of(await run(lu, bytes((0xC5,)) + bytes(5))) == (0x05, 0x20, 0x00)


async def test_naca_in_the_control_byte_is_refused_with_a_field_pointer(lu: LogicalUnit) -> None:
    res = await run(lu, bytes((0, 0, 0, 0, 0, 0x04)))
    assert sense_of(res) == (0x05, 0x24, 0x00)
    assert res.sense[15] == 0x80 | 0x40 | 0x08 | 2 and res.sense[16:18] == b"\x00\x05"


async def test_reset_raises_one_unit_attention_per_nexus(lu: LogicalUnit) -> None:
    assert (await run(lu, TUR, nexus=NEXUS_A)).status == 0
    assert (await run(lu, TUR, nexus=NEXUS_B)).status == 0
    lu.reset()
    # INQUIRY neither reports nor clears it
    assert (await run(lu, inquiry(), nexus=NEXUS_A)).status == 0
    assert sense_of(await run(lu, TUR, nexus=NEXUS_A)) == (0x06, 0x29, 0x03)
    assert (await run(lu, TUR, nexus=NEXUS_A)).status == 0
    # REQUEST SENSE returns it as parameter data and clears it
    res = await run(lu, bytes((0x03, 0, 0, 0, 18, 0)), nexus=NEXUS_B)
    assert res.status == 0 and res.data[2] == 0x06 and res.data[12:14] == b"\x29\x03"
    assert (await run(lu, TUR, nexus=NEXUS_B)).status == 0


async def test_capacity_change_is_reported_with_the_new_size(lu: LogicalUnit) -> None:
    await run(lu, TUR)
    with open(lu.path, "r+b") as f:
        f.truncate(4096 * 512)
    lu.capacity_changed()
    assert sense_of(await run(lu, TUR)) == (0x06, 0x2A, 0x09)
    res = await run(lu, struct.pack(">BBIBBBB", 0x25, 0, 0, 0, 0, 0, 0))
    assert struct.unpack(">II", bytes(res.data)) == (4095, 512)


async def test_descriptor_sense_when_d_sense_is_set(lu: LogicalUnit) -> None:
    lu.mode.current[0x0A][2] |= 0x04
    res = await run(lu, bytes((0xC5,)) + bytes(5))
    assert res.sense[0] == 0x72 and res.sense[1:4] == b"\x05\x20\x00"


async def test_a_lost_nexus_forgets_its_pending_unit_attentions(lu: LogicalUnit) -> None:
    await run(lu, TUR, nexus=NEXUS_B)
    lu.reset()
    lu.nexus_lost(NEXUS_B)
    assert (await run(lu, TUR, nexus=NEXUS_B)).status == 0  # logged in again: a new nexus


async def test_backing_file_failures_become_sense_not_exceptions(lu, monkeypatch) -> None:
    import errno

    from .conftest import read10, write10

    def failing(errno_value):
        def fail(*args, **kwargs):
            raise OSError(errno_value, "simulated disk failure")

        return fail

    # Nothing served from the page cache: every I/O reaches the (failing) pool path.
    monkeypatch.setattr(lu.backing, "read_nowait", lambda buf, offset: 0)
    monkeypatch.setattr(lu.backing, "write_cached", lambda data, offset: 0)
    monkeypatch.setattr(lu.backing, "read_into", failing(errno.EIO))
    assert sense_of(await run(lu, read10(0, 1))) == (0x03, 0x11, 0x00)
    monkeypatch.setattr(lu.backing, "write", failing(errno.EIO))
    assert sense_of(await run(lu, write10(0, 1), bytes(512))) == (0x03, 0x0C, 0x00)
    monkeypatch.setattr(lu.backing, "write", failing(errno.ENOSPC))
    assert sense_of(await run(lu, write10(0, 1), bytes(512))) == (0x07, 0x27, 0x07)


async def test_cached_reads_and_writes_take_the_inline_path(lu, monkeypatch) -> None:
    """Small I/O is served without the thread pool when the page cache allows."""
    from .conftest import read10, write10

    pool_calls = []
    real_io = lu.io

    async def counting_io(fn, *args, **kwargs):
        pool_calls.append(fn.__name__)
        return await real_io(fn, *args, **kwargs)

    monkeypatch.setattr(lu, "io", counting_io)
    page = bytes(range(256)) * 16  # LBA 8..15: one whole page, nothing to read first
    assert (await run(lu, write10(8, 8), page)).status == 0
    result = await run(lu, read10(8, 8))
    assert bytes(result.data) == page
    block = bytes(reversed(range(256))) * 2  # part of that page, now cached
    assert (await run(lu, write10(9, 1), block)).status == 0
    assert bytes((await run(lu, read10(9, 1))).data) == block
    whole = bytes(range(251)) * (lu.size // 251) + bytes(lu.size % 251)  # 1 MiB, the limit
    assert (await run(lu, write10(0, lu.blocks), whole)).status == 0
    assert bytes((await run(lu, read10(0, lu.blocks))).data) == whole
    assert "write" not in pool_calls
    assert "read_into" not in pool_calls
