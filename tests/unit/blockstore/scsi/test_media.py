"""READ / WRITE / VERIFY / COMPARE AND WRITE / SYNCHRONIZE CACHE on a real file."""

from __future__ import annotations

import os
import struct

from blockstore.scsi import LogicalUnit

from .conftest import BLOCKS, make_file, read10, read16, run, sense_of, write10, write16


async def test_write_then_read_round_trips_through_the_file(lu: LogicalUnit) -> None:
    payload = bytes(range(256)) * 4  # two blocks
    res = await run(lu, write10(5, 2), payload)
    assert res.status == 0 and res.transfer_length == 1024
    res = await run(lu, read10(5, 2))
    assert res.status == 0 and bytes(res.data) == payload
    with open(lu.path, "rb") as f:
        f.seek(5 * 512)
        assert f.read(1024) == payload


async def test_sixteen_byte_and_six_byte_forms_address_the_same_blocks(lu: LogicalUnit) -> None:
    await run(lu, write16(100, 1, flags=0x08), b"\xab" * 512)  # FUA
    read6 = bytes((0x08, 0, 0, 100, 1, 0))
    assert bytes((await run(lu, read6)).data) == b"\xab" * 512
    assert bytes((await run(lu, read16(100, 1))).data) == b"\xab" * 512


async def test_read6_length_zero_means_256_blocks(lu: LogicalUnit) -> None:
    res = await run(lu, bytes((0x08, 0, 0, 0, 0, 0)))
    assert len(res.data) == 256 * 512


async def test_out_of_range_lba_is_refused_with_lba_out_of_range(lu: LogicalUnit) -> None:
    assert sense_of(await run(lu, read10(BLOCKS - 1, 2))) == (0x05, 0x21, 0x00)
    assert sense_of(await run(lu, read16(2**63, 1))) == (0x05, 0x21, 0x00)
    assert sense_of(await run(lu, write10(BLOCKS, 1), bytes(512))) == (0x05, 0x21, 0x00)
    # zero blocks at the very end is fine, one past it is not
    assert (await run(lu, read10(BLOCKS, 0))).status == 0
    assert sense_of(await run(lu, read10(BLOCKS + 1, 0))) == (0x05, 0x21, 0x00)


async def test_protection_fields_are_refused(lu: LogicalUnit) -> None:
    key, asc, _ = sense_of(await run(lu, read10(0, 1, flags=0x20)))
    assert (key, asc) == (0x05, 0x24)


async def test_write_to_a_read_only_unit_is_data_protect(tmp_path) -> None:
    path = make_file(tmp_path / "ro.img")
    unit = LogicalUnit(path, read_only=True)
    await unit.open()
    try:
        assert sense_of(await run(unit, write10(0, 1), b"x" * 512)) == (0x07, 0x27, 0x00)
        assert (await run(unit, read10(0, 1))).status == 0
    finally:
        await unit.close()
    assert os.path.getsize(path) == BLOCKS * 512


async def test_short_data_out_writes_only_whole_blocks_that_arrived(lu: LogicalUnit) -> None:
    await run(lu, write10(0, 2), b"a" * 1024)
    res = await run(lu, write10(0, 2), b"b" * 512)  # EDTL of one block for a two-block write
    assert res.status == 0 and res.transfer_length == 1024
    data = bytes((await run(lu, read10(0, 2))).data)
    assert data == b"b" * 512 + b"a" * 512
    res = await run(lu, write10(0, 1), b"c" * 200)  # less than one block: nothing written
    assert res.status == 0
    assert bytes((await run(lu, read10(0, 1))).data) == b"b" * 512


def verify10(lba: int, blocks: int, bytchk: int) -> bytes:
    return struct.pack(">BBIBHB", 0x2F, bytchk << 1, lba, 0, blocks, 0)


async def test_verify_compares_and_reports_the_first_miscompare(lu: LogicalUnit) -> None:
    await run(lu, write10(10, 2), b"q" * 1024)
    assert (await run(lu, verify10(10, 2, 0))).status == 0
    assert (await run(lu, verify10(10, 2, 1), b"q" * 1024)).status == 0
    bad = bytearray(b"q" * 1024)
    bad[700] = 0
    res = await run(lu, verify10(10, 2, 1), bytes(bad))
    assert sense_of(res) == (0x0E, 0x1D, 0x00)
    assert res.sense[0] & 0x80 and struct.unpack(">I", res.sense[3:7])[0] == 700
    assert (await run(lu, verify10(10, 2, 3), b"q" * 512)).status == 0  # one block, each LBA
    key, asc, _ = sense_of(await run(lu, verify10(10, 2, 2)))
    assert (key, asc) == (0x05, 0x24)


def caw(lba: int, blocks: int) -> bytes:
    return struct.pack(">BBQBBBBBB", 0x89, 0, lba, 0, 0, 0, blocks, 0, 0)


async def test_compare_and_write_writes_only_on_a_match(lu: LogicalUnit) -> None:
    await run(lu, write10(3, 1), b"o" * 512)
    assert (await run(lu, caw(3, 1), b"o" * 512 + b"n" * 512)).status == 0
    assert bytes((await run(lu, read10(3, 1))).data) == b"n" * 512
    res = await run(lu, caw(3, 1), b"o" * 512 + b"z" * 512)
    assert sense_of(res) == (0x0E, 0x1D, 0x00)
    assert struct.unpack(">I", res.sense[3:7])[0] == 0
    assert bytes((await run(lu, read10(3, 1))).data) == b"n" * 512


async def test_synchronize_cache_checks_its_range(lu: LogicalUnit) -> None:
    sync10 = struct.pack(">BBIBHB", 0x35, 0, 0, 0, 0, 0)
    assert (await run(lu, sync10)).status == 0
    sync16 = struct.pack(">BBQIBB", 0x91, 0, BLOCKS, 1, 0, 0)
    assert sense_of(await run(lu, sync16)) == (0x05, 0x21, 0x00)


def orwrite16(lba: int, blocks: int) -> bytes:
    return struct.pack(">BBQIBB", 0x8B, 0, lba, blocks, 0, 0)


async def test_orwrite_ors_data_into_the_medium(lu: LogicalUnit) -> None:
    await run(lu, write10(7, 2), b"\xa5" * 1024)
    assert (await run(lu, orwrite16(7, 2), b"\x5a" * 1024)).status == 0
    assert bytes((await run(lu, read10(7, 2))).data) == b"\xff" * 1024
    assert sense_of(await run(lu, orwrite16(BLOCKS + 1, 0))) == (0x05, 0x21, 0x00)


async def test_twelve_byte_verify_and_write_and_verify(lu: LogicalUnit) -> None:
    wav12 = struct.pack(">BBIIBB", 0xAE, 0x02, 20, 1, 0, 0)
    assert (await run(lu, wav12, b"v" * 512)).status == 0
    verify12 = struct.pack(">BBIIBB", 0xAF, 0x02, 20, 1, 0, 0)
    assert (await run(lu, verify12, b"v" * 512)).status == 0
    assert sense_of(await run(lu, verify12, b"w" * 512))[:2] == (0x0E, 0x1D)


async def test_prefetch_checks_the_range_only(lu: LogicalUnit) -> None:
    prefetch10 = struct.pack(">BBIBHB", 0x34, 0x02, 0, 3, 16, 0)
    assert (await run(lu, prefetch10)).status == 0
    prefetch16 = struct.pack(">BBQIBB", 0x90, 0, BLOCKS - 1, 2, 0, 0)
    assert sense_of(await run(lu, prefetch16)) == (0x05, 0x21, 0x00)


async def test_compare_and_write_refuses_data_out_of_the_wrong_size(lu: LogicalUnit) -> None:
    await run(lu, write10(3, 1), b"o" * 512)
    assert sense_of(await run(lu, caw(3, 1), b"o" * 512))[:2] == (0x05, 0x24)
    assert sense_of(await run(lu, caw(3, 1), b"o" * 2048))[:2] == (0x05, 0x24)
    # a block count that wrapped to 0 while 256 blocks of data were sent
    assert sense_of(await run(lu, caw(0, 0), bytes(512 * 512)))[:2] == (0x05, 0x24)
    assert (await run(lu, caw(0, 0))).status == 0
    assert sense_of(await run(lu, caw(0, 129), bytes(129 * 1024)))[:2] == (0x05, 0x24)


async def test_write_through_writes_skip_the_page_cache_path(lu: LogicalUnit, monkeypatch) -> None:
    """FUA and WCE=0 writes go down the O_DSYNC descriptor; SYNCHRONIZE CACHE flushes."""
    from blockstore.scsi.mode import PAGE_CACHING, WCE

    calls: list[tuple[str, bool]] = []
    real_cached, real_write, real_flush = (
        lu.backing.write_cached, lu.backing.write, lu.backing.flush
    )  # fmt: skip

    def cached(data, offset):  # type: ignore[no-untyped-def]
        calls.append(("cached", False))
        return real_cached(data, offset)

    def write(data, offset, *, sync=False):  # type: ignore[no-untyped-def]
        calls.append(("write", sync))
        real_write(data, offset, sync=sync)

    def flush() -> None:
        calls.append(("flush", True))
        real_flush()

    monkeypatch.setattr(lu.backing, "write_cached", cached)
    monkeypatch.setattr(lu.backing, "write", write)
    monkeypatch.setattr(lu.backing, "flush", flush)
    page = b"\x5a" * 4096
    assert (await run(lu, write10(8, 8), page)).status == 0  # WCE=1, no FUA: page cache
    assert calls == [("cached", False)]
    calls.clear()
    assert (await run(lu, write10(8, 8, flags=0x08), page)).status == 0  # FUA
    assert calls == [("write", True)]
    calls.clear()
    lu.mode.current[PAGE_CACHING][2] &= ~WCE  # write cache disabled: every write is durable
    assert (await run(lu, write16(16, 8), page)).status == 0
    assert calls == [("write", True)]
    calls.clear()
    assert (await run(lu, struct.pack(">BBIBHB", 0x35, 0, 0, 0, 0, 0))).status == 0
    assert calls == [("flush", True)]
    assert os.pread(lu.backing.fd, 4096, 16 * 512) == page
