"""Logical block provisioning (SBC-3 4.7): WRITE SAME, UNMAP and GET LBA STATUS.

A thin LU is a sparse file: unmapping punches holes (which read back as
zeros, hence LBPRZ) and GET LBA STATUS reads the file's extent map through
SEEK_DATA / SEEK_HOLE.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from blockstore.scsi.cdb import Rw, require_zero_protect, u16, u32, u64
from blockstore.scsi.command import ScsiCommand, ScsiResult, allocation, good
from blockstore.scsi.constants import Op
from blockstore.scsi.inquiry import MAX_UNMAP_BLOCKS, MAX_UNMAP_DESCRIPTORS, MAX_WRITE_SAME_BLOCKS
from blockstore.scsi.sense import (
    invalid_cdb,
    invalid_param,
    lba_out_of_range,
    param_list_length_error,
)

if TYPE_CHECKING:
    from blockstore.scsi.backing import BackingFile
    from blockstore.scsi.unit import LogicalUnit

_WRITE_SAME_CHUNK = 1 << 20  # bytes of repeated pattern per pwritev
MAPPED, DEALLOCATED = 0, 1
_MAX_LBA_STATUS_DESCRIPTORS = 512


def _fill(backing: BackingFile, block: bytes, offset: int, length: int, sync: bool) -> None:
    """Write ``block`` repeatedly over [offset, offset + length) in large chunks."""
    per = max(1, _WRITE_SAME_CHUNK // len(block))
    chunk = memoryview(block * min(per, length // len(block)))
    end = offset + length
    while offset < end:
        n = min(len(chunk), end - offset)
        backing.write(chunk[:n], offset, sync=False)
        offset += n
    if sync:
        backing.flush()


async def handle_write_same(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """WRITE SAME(10/16): one block written over a range, or the range unmapped."""
    cdb = cmd.cdb
    sixteen = cdb[0] == Op.WRITE_SAME_16
    if sixteen:
        lba, blocks = u64(cdb, 2), u32(cdb, 10)
        ndob = bool(cdb[1] & 0x01)
    else:
        lba, blocks = u32(cdb, 2), u16(cdb, 7)
        ndob = False
    anchor, unmap = bool(cdb[1] & 0x10), bool(cdb[1] & 0x08)
    lu.check_writable()
    require_zero_protect(Rw(lba, blocks, cdb[1], 0))
    if anchor:  # ANC_SUP is 0; ANCHOR without UNMAP is invalid anyway
        raise invalid_cdb(1, 4)
    if unmap and not lu.thin:
        raise invalid_cdb(1, 3)
    if blocks == 0:  # WSNZ is set
        raise invalid_cdb(13 if sixteen else 7)
    if blocks > MAX_WRITE_SAME_BLOCKS:
        raise invalid_cdb(10 if sixteen else 7)
    lu.check_range(lba, blocks)
    bs = lu.block_size
    if ndob:
        block = bytes(bs)
    else:
        data = lu.data_out(cmd, bs + 1)
        if len(data) != bs or (cmd.expected_length and cmd.expected_length != bs):
            raise invalid_cdb(10 if sixteen else 7)
        block = bytes(data)
    offset, length = lba * bs, blocks * bs
    sync = not lu.mode.wce
    async with lu.write_gate.shared():
        if unmap:
            await lu.io(lu.backing.zero, offset, length, sync=sync)
        elif block.count(0) == bs:  # zeros, kept mapped: no need to write them
            await lu.io(lu.backing.zero, offset, length, sync=sync, unmap=False)
        else:
            await lu.io(_fill, lu.backing, block, offset, length, sync)
    return good()


def _unmap_descriptors(lu: LogicalUnit, params: memoryview) -> list[tuple[int, int]]:
    """Parse and validate an UNMAP parameter list; every descriptor is checked first."""
    if len(params) < 8:
        raise param_list_length_error()
    data_len = u16(params, 0)
    desc_len = u16(params, 2)
    if data_len and data_len + 2 > len(params):
        raise invalid_param(0)
    if desc_len % 16:
        raise invalid_param(2)
    if desc_len + 8 > len(params):
        raise invalid_param(2)
    count = desc_len // 16
    if count > MAX_UNMAP_DESCRIPTORS:
        raise invalid_param(2)
    ranges, total = [], 0
    for i in range(count):
        at = 8 + 16 * i
        lba, blocks = u64(params, at), u32(params, at + 8)
        if lba + blocks > lu.blocks:
            raise lba_out_of_range()
        total += blocks
        if total > MAX_UNMAP_BLOCKS:
            raise invalid_param(at + 8)
        if blocks:
            ranges.append((lba, blocks))
    return ranges


async def handle_unmap(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """UNMAP: deallocate the listed ranges (holes in the sparse file)."""
    cdb = cmd.cdb
    lu.check_writable()
    if cdb[1] & 0x01:  # ANCHOR, and ANC_SUP is 0
        raise invalid_cdb(1, 0)
    length = u16(cdb, 7)
    if length == 0:
        return good()
    ranges = _unmap_descriptors(lu, lu.data_out(cmd, length))
    bs = lu.block_size
    sync = not lu.mode.wce
    async with lu.write_gate.shared():
        for lba, blocks in ranges:
            await lu.io(lu.backing.zero, lba * bs, blocks * bs, sync=sync)
    return good()


def _lba_status(lu: LogicalUnit, lba: int, limit: int) -> list[tuple[int, int, int]]:
    """Runs (lba, blocks, status) from ``lba`` on, at most ``limit`` of them.

    A block holding any data is mapped; only a block wholly in a hole is deallocated.
    """
    bs, end = lu.block_size, lu.blocks
    out: list[tuple[int, int, int]] = []
    while lba < end and len(out) < limit:
        mapped, stop = lu.backing.mapped_run(lba * bs, end * bs)
        nxt = -(-stop // bs) if mapped else stop // bs
        if nxt <= lba:  # data begins inside this block: it is mapped
            mapped, stop = lu.backing.mapped_run(stop, end * bs)
            nxt = -(-stop // bs)
        nxt = min(max(nxt, lba + 1), end)
        status = MAPPED if mapped else DEALLOCATED
        if out and out[-1][2] == status:
            start, _, _ = out.pop()
            out.append((start, nxt - start, status))
        else:
            out.append((lba, nxt - lba, status))
        lba = nxt
    return out


def _encode_status(descs: list[tuple[int, int, int]]) -> bytes:
    body = bytearray()
    for start, count, status in descs:
        while count > 0:
            n = min(count, 0xFFFFFFFF)
            body += struct.pack(">QIB3x", start, n, status)
            start, count = start + n, count - n
    return bytes(body)


async def handle_get_lba_status(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """GET LBA STATUS: mapped / deallocated runs from the starting LBA."""
    cdb = cmd.cdb
    lba, alloc = u64(cdb, 2), u32(cdb, 10)
    if lba >= lu.blocks:
        raise lba_out_of_range()
    limit = max(1, min(_MAX_LBA_STATUS_DESCRIPTORS, (alloc - 8) // 16 if alloc > 8 else 1))
    if not lu.thin:
        descs = [(lba, lu.blocks - lba, MAPPED)]
    else:
        descs = await lu.io(_lba_status, lu, lba, limit)
    body = _encode_status(descs)
    return good(allocation(struct.pack(">I4x", len(body) + 4) + body, alloc))


SANITIZE_BLOCK_ERASE, SANITIZE_EXIT_FAILURE_MODE = 0x02, 0x1F


async def handle_sanitize(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """SANITIZE (SBC-4 5.30): BLOCK ERASE deallocates every block (a thin LU's whole
    file becomes a hole); EXIT FAILURE MODE has nothing to exit, as a punch never
    half-fails. OVERWRITE and CRYPTOGRAPHIC ERASE are not offered."""
    cdb = cmd.cdb
    if cdb[1] & 0x40:
        raise invalid_cdb(1, 6)
    for i in range(2, 7):
        if cdb[i]:
            raise invalid_cdb(i)
    if u16(cdb, 7):  # neither service action takes a parameter list
        raise invalid_cdb(7)
    lu.check_writable()
    if cdb[1] & 0x1F == SANITIZE_BLOCK_ERASE:
        async with lu.write_gate.exclusive():
            await lu.io(lu.backing.zero, 0, lu.size, sync=True)
    return good()
