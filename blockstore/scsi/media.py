"""Media access: READ, WRITE, WRITE AND VERIFY, VERIFY, COMPARE AND WRITE, SYNCHRONIZE CACHE.

When the iSCSI expected length is shorter than the CDB's transfer length a
WRITE writes only the whole blocks that arrived (libiscsi's residual tests
check exactly that); the result's ``transfer_length`` lets the transport
report the overflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blockstore.scsi.cdb import decode_rw, require_zero_protect, u16, u32, u64
from blockstore.scsi.command import ScsiCommand, ScsiResult, good
from blockstore.scsi.constants import MISCOMPARE_DURING_VERIFY, Op, SenseKey
from blockstore.scsi.inquiry import MAX_COMPARE_AND_WRITE_BLOCKS
from blockstore.scsi.sense import check, invalid_cdb

if TYPE_CHECKING:
    from blockstore.scsi.backing import BackingFile
    from blockstore.scsi.unit import LogicalUnit


def _first_difference(a: memoryview, b: memoryview) -> int:
    """Offset of the first byte where ``a`` and ``b`` differ (they do differ)."""
    lo, hi = 0, len(a)
    while hi - lo > 64:  # bisect on slices: C-speed comparisons, few of them
        mid = (lo + hi) // 2
        if a[lo:mid] != b[lo:mid]:
            hi = mid
        else:
            lo = mid
    for i in range(lo, hi):
        if a[i] != b[i]:
            return i
    return hi


_WRITE_AND_VERIFY = frozenset(
    int(op) for op in (Op.WRITE_AND_VERIFY_10, Op.WRITE_AND_VERIFY_12, Op.WRITE_AND_VERIFY_16)
)


def miscompare(offset: int):
    return check(SenseKey.MISCOMPARE, MISCOMPARE_DURING_VERIFY, info=offset)


async def handle_read(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """READ(6/10/12/16): data-in straight from preadv into one buffer."""
    rw = decode_rw(cmd.cdb)
    require_zero_protect(rw)
    lu.check_range(rw.lba, rw.blocks)
    lu.check_transfer(rw.blocks, rw.len_at)
    if rw.blocks == 0:
        return good()
    buf = bytearray(rw.blocks * lu.block_size)
    await lu.read_into(memoryview(buf), rw.lba * lu.block_size)
    counters = lu.counters
    counters.reads += 1
    counters.read_bytes += len(buf)
    return good(buf)


async def _write_blocks(lu: LogicalUnit, cmd: ScsiCommand, lba: int, blocks: int, fua: bool):
    """Write the whole blocks of data-out that arrived (at most ``blocks``)."""
    bs = lu.block_size
    data = lu.data_out(cmd, blocks * bs)
    count = len(data) // bs
    if count == 0:
        return
    async with lu.write_gate.shared():
        await lu.write(data[: count * bs], lba * bs, sync=fua or not lu.mode.wce)
    counters = lu.counters
    counters.writes += 1
    counters.written_bytes += count * bs


async def handle_write(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """WRITE(6/10/12/16) and WRITE AND VERIFY(10/16); FUA or WCE=0 writes through."""
    rw = decode_rw(cmd.cdb)
    lu.check_writable()
    require_zero_protect(rw)
    verify = cmd.cdb[0] in _WRITE_AND_VERIFY
    if verify and (rw.flags >> 1) & 0x03 >= 2:  # BYTCHK 10b/11b are reserved here
        raise invalid_cdb(1, 2)
    lu.check_range(rw.lba, rw.blocks)
    lu.check_transfer(rw.blocks, rw.len_at)
    await _write_blocks(lu, cmd, rw.lba, rw.blocks, rw.fua or verify)
    return lu.written(rw.blocks)


async def handle_verify(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """VERIFY(10/16): BYTCHK 00 checks the range, 01 compares, 11 compares one block to each."""
    rw = decode_rw(cmd.cdb)
    require_zero_protect(rw)
    bytchk = (rw.flags >> 1) & 0x03
    if bytchk == 2:
        raise invalid_cdb(1, 2)
    lu.check_range(rw.lba, rw.blocks)
    lu.check_transfer(rw.blocks, rw.len_at)
    if rw.blocks == 0 or bytchk == 0:
        return good()
    bs = lu.block_size
    want = bs if bytchk == 3 else rw.blocks * bs
    expected = lu.data_out(cmd, want)
    if len(expected) < want:
        return lu.written(rw.blocks if bytchk != 3 else 1)
    media = memoryview(bytearray(rw.blocks * bs))
    await lu.io(lu.backing.read_into, media, rw.lba * bs)
    if bytchk == 3:
        for i in range(rw.blocks):
            block = media[i * bs : (i + 1) * bs]
            if block != expected:
                raise miscompare(i * bs + _first_difference(block, expected))
    elif media != expected:
        raise miscompare(_first_difference(media, expected))
    return lu.written(rw.blocks if bytchk != 3 else 1)


async def handle_compare_and_write(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """COMPARE AND WRITE: compare then write, atomic against every other write of the LU."""
    cdb = cmd.cdb
    lu.check_writable()
    if cdb[1] >> 5:
        raise invalid_cdb(1, 7)
    lba, blocks = u64(cdb, 2), cdb[13]
    if blocks > MAX_COMPARE_AND_WRITE_BLOCKS:
        raise invalid_cdb(13)
    lu.check_range(lba, blocks)
    bs = lu.block_size
    size = blocks * bs
    # The data-out must be exactly the verify and write instances: anything else
    # means the CDB and the transfer disagree (e.g. a block count that wrapped).
    sent = len(cmd.data_out) if cmd.data_out is not None else 0
    if sent != 2 * size or (cmd.expected_length and cmd.expected_length != 2 * size):
        raise invalid_cdb(13)
    if blocks == 0:
        return good()
    data = lu.data_out(cmd, 2 * size)
    verify, new = data[:size], data[size:]
    async with lu.write_gate.exclusive():
        media = memoryview(bytearray(size))
        await lu.io(lu.backing.read_into, media, lba * bs)
        if media != verify:
            raise miscompare(_first_difference(media, verify))
        await lu.io(lu.backing.write, new, lba * bs, sync=bool(cdb[1] & 0x08) or not lu.mode.wce)
    return good()


def _or_into(backing: BackingFile, data: memoryview, offset: int, sync: bool) -> None:
    """Read, OR with ``data``, write back: one blocking step for the I/O pool."""
    media = bytearray(len(data))
    backing.read_into(memoryview(media), offset)
    merged = int.from_bytes(media, "little") | int.from_bytes(data, "little")
    backing.write(memoryview(merged.to_bytes(len(data), "little")), offset, sync=sync)


async def handle_orwrite(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """ORWRITE(16): medium |= data, atomic against every other write of the LU."""
    rw = decode_rw(cmd.cdb)
    lu.check_writable()
    require_zero_protect(rw)
    lu.check_range(rw.lba, rw.blocks)
    lu.check_transfer(rw.blocks, rw.len_at)
    bs = lu.block_size
    data = lu.data_out(cmd, rw.blocks * bs)
    count = len(data) // bs
    if count:
        sync = rw.fua or not lu.mode.wce
        async with lu.write_gate.exclusive():
            await lu.io(_or_into, lu.backing, data[: count * bs], rw.lba * bs, sync)
    return lu.written(rw.blocks)


async def handle_prefetch(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """PRE-FETCH(10/16): a hint to read ahead (posix_fadvise WILLNEED)."""
    rw = decode_rw(cmd.cdb)
    lu.check_range(rw.lba, rw.blocks)
    if rw.blocks:
        await lu.io(lu.backing.will_need, rw.lba * lu.block_size, rw.blocks * lu.block_size)
    return good()


async def handle_synchronize_cache(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """SYNCHRONIZE CACHE(10/16): the range is checked, the whole file is flushed."""
    cdb = cmd.cdb
    if cdb[0] == Op.SYNCHRONIZE_CACHE_10:
        lba, blocks = u32(cdb, 2), u16(cdb, 7)
    else:
        lba, blocks = u64(cdb, 2), u32(cdb, 10)
    lu.check_range(lba, blocks)
    if not lu.read_only:
        await lu.io(lu.backing.flush)
    return good()
