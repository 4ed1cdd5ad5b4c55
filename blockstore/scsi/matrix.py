"""The SCSI compatibility matrix (docs/scsi.md), generated from the opcode table.

``python -m blockstore.scsi.matrix > docs/scsi.md`` regenerates it; a unit
test fails when the committed file and the table disagree.
"""

from __future__ import annotations

from blockstore.scsi.opcodes import ALLOWED, READ, TABLE, Command

_HEADER = """# SCSI command set of a Stratus logical unit

Generated from `blockstore/scsi/opcodes.py` by
`python -m blockstore.scsi.matrix`; do not edit by hand.

A logical unit is a file served as a direct-access block device (SPC-4,
SBC-3): sparse when thin-provisioned (UNMAP and WRITE SAME punch holes, GET
LBA STATUS reads the extent map). Anything not listed is refused with
ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE. The transport answers
REPORT LUNS for absent LUNs itself.

"Under a reservation" says what another I_T nexus's persistent reservation
does to the command (SPC-4 table 53): *allowed*, *conflict under exclusive
access* (allowed under the write-exclusive types), or *conflict*
(registrants pass the registrants-only and all-registrants types). A
RESERVE(6/10) reservation blocks everything but INQUIRY, REPORT LUNS, REQUEST
SENSE, REPORT SUPPORTED OPERATION CODES and RELEASE.

| opcode | service action | command | CDB bytes | under a reservation | unit attention |
|---|---|---|---|---|---|
"""

_NOT_SUPPORTED = """
Not implemented, on purpose: WRITE ATOMIC(16) (the file cannot promise
atomicity across a power loss), SANITIZE OVERWRITE and CRYPTOGRAPHIC ERASE,
EXTENDED COPY / RECEIVE COPY RESULTS,
FORMAT UNIT, protection information (any RDPROTECT/WRPROTECT/VRPROTECT other
than 0 is INVALID FIELD IN CDB), removable-medium behaviour (the LU is not
removable: PREVENT ALLOW MEDIUM REMOVAL and START STOP UNIT are accepted and
have nothing to do), APTPL, SPEC_I_PT, ALL_TG_PT and REGISTER AND MOVE.
"""


def _access(command: Command) -> str:
    if callable(command.access):
        return "depends on the CDB (START=0 / PREVENT: conflict)"
    if command.access == ALLOWED:
        return "allowed"
    if command.access == READ:
        return "conflict under exclusive access"
    return "conflict"


def render() -> str:
    rows = []
    for c in TABLE.all():
        sa = f"{c.sa:02X}h" if c.sa is not None else ""
        ua = "passes (not cleared)" if c.ua_exempt else "reported first"
        if c.opcode == 0x03:
            ua = "returns and clears it"
        access = _access(c)
        name = c.name + (" (thin LUs only)" if c.thin_only else "")
        rows.append(f"| {c.opcode:02X}h | {sa} | {name} | {len(c.usage)} | {access} | {ua} |")
    return _HEADER + "\n".join(rows) + "\n" + _NOT_SUPPORTED


if __name__ == "__main__":
    print(render(), end="")
