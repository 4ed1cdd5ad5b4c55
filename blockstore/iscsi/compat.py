"""docs/iscsi.md: what the target implements, rendered from the code's own tables.

The PDU dispatch table, the negotiation tables, the task management table
and the login refusals are the ones the target runs on, so the published
matrix cannot drift from the behaviour (a test compares the file with this).
"""

from __future__ import annotations

import inspect

from blockstore.iscsi import pdu as P
from blockstore.iscsi.buffers import IDLE_LIMIT
from blockstore.iscsi.connection import FULL_FEATURE, REJECTED
from blockstore.iscsi.login import REFUSALS
from blockstore.iscsi.negotiate import (
    FIXED_ANSWERS,
    IRRELEVANT_KEYS,
    TARGET_ONLY_KEYS,
    Negotiator,
    TargetLimits,
)
from blockstore.iscsi.server import TargetServer
from blockstore.iscsi.tmf import FUNCTIONS
from blockstore.scsi.unit import RUN_WRITE_MIN, WRITEBACK_AHEAD_BYTES

_LIMITS = {
    "queue_depth": "commands a session may have outstanding (the CmdSN window)",
    "max_write_bytes": "data-out of one command (larger: CHECK CONDITION, no R2T spent)",
    "write_budget": "data-out buffered per connection (beyond: TASK SET FULL)",
    "max_connections": "TCP connections at once",
    "login_timeout": "seconds a login may take",
    "nop_interval": "idle seconds before a NOP-In ping (0: never)",
    "nop_timeout": "seconds an initiator has to answer before it is dropped",
    "logout_grace": "seconds between a logout request (target removal) and the drop",
}

_DECLARATIVE = {
    "MaxRecvDataSegmentLength": "declarative; the target declares {mrdsl}",
    "InitiatorName": "login; required, validated (iqn./eui./naa.)",
    "InitiatorAlias": "recorded",
    "TargetName": "login; required for a normal session",
    "SessionType": "Normal or Discovery",
    "TargetAlias": "declared by the target when set",
    "TargetPortalGroupTag": "declared in the first login response of a normal session: the "
    "tag of the portal group the connection came in through",
    "TargetAddress": "in SendTargets answers: `<ip>:<port>,<tpgt>`, one per listening portal "
    "of the groups the target is reachable through (portals are added and removed live)",
    "SendTargets": "Text: All (discovery), a name, or empty (own target). A target that "
    "needs CHAP is listed only to a discovery session that logged in with CHAP, using the "
    "initiator's own credentials for that target (`iscsi.discovery_auth`: "
    "`chap-if-protected`, `chap` or `none`)",
    "AuthMethod": "CHAP or None (first offered that the ACL allows)",
    "CHAP_A/I/C/N/R": "MD5 (5) only; random 16-byte challenge; one-way and mutual",
}


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


_WRITE_CACHE = [
    "## Write cache and durability",
    "",
    "Every LUN advertises a volatile write cache (caching mode page: WCE=1), as a disk",
    "with its cache on does. What GOOD status means:",
    "",
    "| command | durable when GOOD is sent |",
    "|---|---|",
    "| WRITE with FUA=1 (and WRITE AND VERIFY, COMPARE AND WRITE) | yes: written through an"
    " O_DSYNC descriptor |",
    "| WRITE with FUA=0 | no: in the page cache until a flush; a power cut may lose it"
    " (and may keep any 4 KiB page of it: writes are not atomic across pages) |",
    "| SYNCHRONIZE CACHE (10/16) | yes: fdatasync of the backing file; every write"
    " completed before it is durable |",
    "| any write while WCE=0 | yes: written through |",
    "",
    "Turn the cache off per volume type with the extra spec `write_cache = '<is> False'`",
    "(`stratus target export --no-write-cache` for a single file); an initiator may also",
    "clear WCE with MODE SELECT, which holds until the export changes. The LIO driver",
    "(`blockstore/export/lio.py`) maps the spec onto a new fileio backstore's `write_back`",
    "(buffered I/O with `emulate_write_cache=1`, or O_DSYNC writes); block-device",
    "backstores and backstores made before keep the kernel's settings, and the kernel's",
    "own write path, not this table, decides there. The power-loss probes",
    "(`tests/probe/power/test_iscsi.py`)",
    "cut power under FUA, SYNCHRONIZE CACHE and cached writes and check exactly this table.",
    "",
    f"Writeback ahead: buffered writes of {RUN_WRITE_MIN // 1024} KiB or more that form one",
    f"sequential run start the run's writeback every {WRITEBACK_AHEAD_BYTES >> 20} MiB",
    "(`sync_file_range(SYNC_FILE_RANGE_WRITE)`, in the I/O pool, not waited for). It",
    "promises nothing (the table above is unchanged: only FUA, WCE=0 and SYNCHRONIZE",
    "CACHE make data durable), but the disk writes a stream while it arrives, so the",
    "next SYNCHRONIZE CACHE has little left to do. Scattered small writes are left to",
    "the kernel. `LogicalUnit.writeback_ahead = 0` turns it off.",
    "",
    "## Data path",
    "",
    "A write's data-out lands straight in one buffer per command (`recv_into`), taken",
    "from a small per-connection pool (`blockstore/iscsi/buffers.py`, at most",
    f"{IDLE_LIMIT >> 20} MiB idle) and handed back when the command is done, never after",
    "an abort; commands served from the page cache run on the event loop, the rest in",
    'the I/O pool. Measured against tgtd: `bench/README.md`, "iSCSI data path".',
    "",
]


def render() -> str:
    limits = TargetLimits()
    neg = Negotiator(limits)
    out = [
        "# iSCSI target: what it implements",
        "",
        "Generated by `stratus target compat` from the tables the target runs on",
        "(`blockstore/iscsi/`); a test keeps this file in step. RFC 7143 over TCP,",
        "ErrorRecoveryLevel 0, one connection per session. The SCSI command set of",
        "the logical units is the SCSI layer's (`blockstore/scsi/`).",
        "",
        "## PDUs from the initiator (full feature phase)",
        "",
    ]
    rows = [
        [f"0x{op:02x}", P.Op(op).name, "yes" if ok else "no (Reject)", what]
        for op, (_, ok, what) in sorted(FULL_FEATURE.items())
    ]
    rows += [[f"0x{op:02x}", P.Op(op).name, "-", what] for op, what in sorted(REJECTED.items())]
    rows.append(["other", "-", "-", "Reject (Command not supported); the session goes on"])
    out += _table(["opcode", "PDU", "discovery session", "handling"], rows)
    out += ["## Operational keys", ""]
    rows = []
    for key in ("HeaderDigest", "DataDigest"):
        accepted = limits.header_digests if key == "HeaderDigest" else limits.data_digests
        rows.append([key, "list", ",".join(accepted), "first offered value we accept"])
    for key, (low, high, combine, _, ours) in neg.numeric.items():
        rows.append([key, f"{combine.__name__} ({low}..{high})", str(ours), ""])
    for key, (is_or, _, ours) in neg.boolean.items():
        rows.append([key, "OR" if is_or else "AND", "Yes" if ours else "No", ""])
    for key, answer in FIXED_ANSWERS.items():
        rows.append([key, "boolean", answer, "obsolete / iSER: always " + answer])
    rows += [[key, "-", "Irrelevant", ""] for key in sorted(IRRELEVANT_KEYS)]
    rows += [
        [key, "-", "Reject", "only the target declares it"] for key in sorted(TARGET_ONLY_KEYS)
    ]
    rows.append(["TaskReporting", "list", "RFC3720", ""])
    rows.append(["other keys", "-", "NotUnderstood", ""])
    out += _table(["key", "negotiation", "target's value", "note"], rows)
    mrdsl = limits.max_recv_data_segment_length
    rows = [[key, how.format(mrdsl=mrdsl)] for key, how in _DECLARATIVE.items()]
    out += _table(["key", "handling"], rows)
    out += ["## Task management", ""]
    rows = [[f"{int(f)}", P.TmfFunction(f).name, "supported"] for f in sorted(FUNCTIONS)]
    rows += [[f"{int(f)}", f.name, "Task management function not supported"]
             for f in P.TmfFunction if f not in FUNCTIONS]  # fmt: skip
    out += _table(["function", "name", "answer"], rows)
    out += ["## Limits (TargetServer defaults)", ""]
    defaults = inspect.signature(TargetServer).parameters
    rows = [[name, f"`{defaults[name].default!r}`", why] for name, why in _LIMITS.items()]
    out += _table(["parameter", "default", "what it bounds"], rows)
    out += [
        "Conformance: libiscsi's `iscsi-test-cu` runs in CI against `stratus target export`;",
        "the per-suite floor is `tests/e2e/blockstore/conformance_floor.json`.",
        "",
    ]
    out += _WRITE_CACHE
    out += ["## Login refusals", ""]
    rows = [[f"0x{status:04x}", why] for status, why in sorted(REFUSALS.items())]
    out += _table(["status", "sent when"], rows)
    return "\n".join(out).rstrip("\n") + "\n"
