"""Mode pages (SPC-4 7.5, SBC-3 6.4) and MODE SENSE / MODE SELECT 6 and 10.

Each page is held as its current bytes plus a default image and a mask of
the bits an initiator may change, so SENSE (any page control) and SELECT
(validation bit by bit) both come from the same three images.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from blockstore.scsi.cdb import u16
from blockstore.scsi.command import ScsiCommand, ScsiResult, allocation, good
from blockstore.scsi.constants import SAVING_PARAMETERS_NOT_SUPPORTED, Op, SenseKey
from blockstore.scsi.sense import check, invalid_cdb, invalid_param, param_list_length_error

if TYPE_CHECKING:
    from blockstore.scsi.unit import LogicalUnit

PAGE_RW_ERROR_RECOVERY = 0x01
PAGE_CACHING = 0x08
PAGE_CONTROL = 0x0A
PAGE_INFORMATIONAL_EXCEPTIONS = 0x1C
ALL_PAGES = 0x3F

PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED = range(4)

WCE = 0x04  # caching page byte 2
D_SENSE = 0x04  # control page byte 2
SWP = 0x08  # control page byte 4
DEXCPT = 0x08  # informational exceptions page byte 2


def _page(code: int, body: bytes) -> bytes:
    return bytes((code, len(body))) + body


# code -> (default image, changeable mask)
_PAGES: dict[int, tuple[bytes, bytes]] = {
    PAGE_RW_ERROR_RECOVERY: (
        _page(PAGE_RW_ERROR_RECOVERY, bytes((0xC0,)) + bytes(9)),  # AWRE, ARRE
        bytes(12),
    ),
    PAGE_CACHING: (
        _page(PAGE_CACHING, bytes((WCE,)) + bytes(17)),
        bytes((0, 0, WCE)) + bytes(17),
    ),
    PAGE_CONTROL: (
        # QUEUE ALGORITHM MODIFIER 1 (unrestricted), TAS, BUSY TIMEOUT PERIOD unlimited
        _page(PAGE_CONTROL, bytes((0x00, 0x10, 0x00, 0x40, 0, 0, 0xFF, 0xFF, 0, 0))),
        bytes((0, 0, D_SENSE, 0, SWP)) + bytes(7),
    ),
    PAGE_INFORMATIONAL_EXCEPTIONS: (
        _page(PAGE_INFORMATIONAL_EXCEPTIONS, bytes((DEXCPT,)) + bytes(9)),
        bytes((0, 0, DEXCPT | 0x10, 0x0F)) + bytes(8),  # DEXCPT, EWASC, MRIE
    ),
}


class ModePages:
    """The current mode parameters of one logical unit (shared by all nexuses)."""

    def __init__(self) -> None:
        self.current = {code: bytearray(default) for code, (default, _) in _PAGES.items()}

    @property
    def wce(self) -> bool:
        return bool(self.current[PAGE_CACHING][2] & WCE)

    def set_write_cache(self, enabled: bool) -> None:
        """The operator's choice (a volume type's ``write_cache``); MODE SELECT may change it."""
        page = self.current[PAGE_CACHING]
        page[2] = (page[2] | WCE) if enabled else (page[2] & ~WCE)

    @property
    def d_sense(self) -> bool:
        return bool(self.current[PAGE_CONTROL][2] & D_SENSE)

    @property
    def swp(self) -> bool:
        return bool(self.current[PAGE_CONTROL][4] & SWP)

    def image(self, code: int, pc: int) -> bytes:
        default, mask = _PAGES[code]
        if pc == PC_CHANGEABLE:
            return bytes((code, len(mask) - 2)) + mask[2:]
        if pc == PC_DEFAULT:
            return default
        return bytes(self.current[code])

    def pages(self, code: int, pc: int) -> bytes:
        codes = sorted(_PAGES) if code == ALL_PAGES else [code]
        return b"".join(self.image(c, pc) for c in codes)

    def select(self, params: memoryview, start: int) -> bool:
        """Validate then apply the pages of a MODE SELECT list; True if anything changed.

        ``start`` is the offset of the first page in the parameter list (for
        field pointers). Nothing is applied unless every page is valid.
        """
        staged: dict[int, bytes] = {}
        at = 0
        while at < len(params):
            if len(params) - at < 2:
                raise param_list_length_error()
            code = params[at] & 0x3F
            if params[at] & 0x40:  # SPF: no subpages are implemented
                raise invalid_param(start + at, 6)
            if code not in _PAGES:
                raise invalid_param(start + at, 5)
            default, mask = _PAGES[code]
            if params[at + 1] != len(default) - 2:
                raise invalid_param(start + at + 1)
            if at + len(default) > len(params):
                raise param_list_length_error()
            new = bytes(params[at : at + len(default)])
            cur = staged.get(code, bytes(self.current[code]))
            for i in range(2, len(default)):
                if (new[i] ^ cur[i]) & ~mask[i] & 0xFF:
                    raise invalid_param(start + at + i)
            staged[code] = bytes((code,)) + new[1:]
            at += len(default)
        changed = False
        for code, page in staged.items():
            if self.current[code] != page:
                self.current[code][:] = page
                changed = True
        return changed


def _device_specific(lu: LogicalUnit) -> int:
    wp = 0x80 if lu.write_protected else 0
    return wp | 0x10  # DPOFUA: DPO and FUA are understood


async def handle_mode_sense(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """MODE SENSE(6) and (10): header, optional block descriptor, pages."""
    cdb = cmd.cdb
    ten = cdb[0] == Op.MODE_SENSE_10
    dbd = bool(cdb[1] & 0x08)
    llbaa = ten and bool(cdb[1] & 0x10)
    pc, code, subpage = cdb[2] >> 6, cdb[2] & 0x3F, cdb[3]
    alloc = u16(cdb, 7) if ten else cdb[4]
    if pc == PC_SAVED:
        raise check(SenseKey.ILLEGAL_REQUEST, SAVING_PARAMETERS_NOT_SUPPORTED)
    if code != ALL_PAGES and code not in _PAGES:
        raise invalid_cdb(2, 5)
    if subpage not in (0x00, 0xFF):
        raise invalid_cdb(3)
    pages = lu.mode.pages(code, pc)
    blocks, bs = lu.blocks, lu.block_size
    if dbd:
        desc = b""
    elif llbaa:
        desc = struct.pack(">QII", blocks, 0, bs)
    else:
        desc = struct.pack(">II", min(blocks, 0xFFFFFFFF), bs & 0xFFFFFF)
    dev = _device_specific(lu)
    if ten:
        body_len = 6 + len(desc) + len(pages)
        head = struct.pack(">HBBBBH", body_len, 0, dev, 0x01 if llbaa else 0, 0, len(desc))
    else:
        body_len = 3 + len(desc) + len(pages)
        if body_len > 0xFF:
            raise invalid_cdb(2)
        head = bytes((body_len, 0, dev, len(desc)))
    return good(allocation(head + desc + pages, alloc))


async def handle_mode_select(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """MODE SELECT(6) and (10): validate the whole list, then change what is changeable."""
    cdb = cmd.cdb
    ten = cdb[0] == Op.MODE_SELECT_10
    length = u16(cdb, 7) if ten else cdb[4]
    if cdb[1] & 0x01:  # SP: saved pages are not implemented
        raise invalid_cdb(1, 0)
    if length == 0:
        return good()
    if not cdb[1] & 0x10:  # PF: only the standard page format is understood
        raise invalid_cdb(1, 4)
    params = lu.data_out(cmd, length)
    head = 8 if ten else 4
    if len(params) < head:
        raise param_list_length_error()
    desc_len = u16(params, 6) if ten else params[3]
    if desc_len not in (0, 8, 16):
        raise invalid_param(6 if ten else 3)
    if head + desc_len > len(params):
        raise param_list_length_error()
    if desc_len:
        bs = struct.unpack_from(">I", params, head + desc_len - 4)[0] & 0xFFFFFF
        if bs not in (0, lu.block_size):
            raise invalid_param(head + desc_len - 3)
    start = head + desc_len
    if lu.mode.select(params[start:], start):
        lu.mode_changed(cmd.nexus)
    return good()
