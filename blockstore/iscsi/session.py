"""An iSCSI session: identity (ISID, TSIH, names), the I_T nexus, the CmdSN window.

Commands are delivered in CmdSN order (RFC 7143 section 4.2.2.1). A
non-immediate command whose CmdSN is ExpCmdSN advances the window; one
ahead of it, but inside the window, waits for the gap to close; anything
outside ``[ExpCmdSN, MaxCmdSN]`` is dropped silently. MaxCmdSN grows only
as commands finish, so the window bounds the commands a session can have
outstanding.
"""

from __future__ import annotations

import asyncio
import enum
import time
from typing import TYPE_CHECKING

from blockstore.iscsi.negotiate import SessionParams
from blockstore.scsi import Nexus

if TYPE_CHECKING:
    from blockstore.iscsi.chap import Credentials
    from blockstore.iscsi.connection import Connection
    from blockstore.iscsi.target import Target

SN_MASK = 0xFFFFFFFF


def sn_add(a: int, n: int) -> int:
    return (a + n) & SN_MASK


def sn_lt(a: int, b: int) -> bool:
    """Serial number arithmetic (RFC 1982) on 32-bit sequence numbers: a < b."""
    return a != b and ((b - a) & SN_MASK) < 0x80000000


class Admission(enum.Enum):
    NOW = "now"  # deliver (or immediate)
    QUEUED = "queued"  # inside the window but ahead of ExpCmdSN: wait for the gap
    DROP = "drop"  # outside the window or a duplicate: ignore silently


class SessionType(enum.Enum):
    NORMAL = "Normal"
    DISCOVERY = "Discovery"


class Session:
    """State shared by the connection(s) of one session (we allow exactly one)."""

    def __init__(
        self,
        *,
        tsih: int,
        isid: bytes,
        initiator_name: str,
        target: Target | None,
        kind: SessionType,
        params: SessionParams,
        cmd_sn: int,
        depth: int,
        portal_group_tag: int,
    ) -> None:
        self.tsih = tsih
        self.isid = isid
        self.initiator_name = initiator_name
        self.target = target
        self.kind = kind
        self.params = params
        self.depth = depth
        self.exp_cmd_sn = cmd_sn
        self.max_cmd_sn = sn_add(cmd_sn, depth - 1)
        self._outstanding = 0
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self.connection: Connection | None = None
        self.ended = False
        self.proven: Credentials | None = None  # what its login proved with CHAP
        self.opened_at = time.time()  # wall clock: shown to cloud admins (os-iscsi-sessions)
        target_name = target.iqn if target is not None else ""
        self.nexus = Nexus(
            initiator_port=f"{initiator_name},i,0x{isid.hex()}",
            target_port=f"{target_name},t,0x{portal_group_tag:04x}",
        )

    @property
    def key(self) -> tuple[str, bytes, str]:
        """What identifies a session for reinstatement: initiator, ISID, target."""
        return (self.initiator_name, self.isid, self.target.iqn if self.target else "")

    def admit(self, cmd_sn: int, immediate: bool) -> Admission:
        """Decide what happens to a command carrying ``cmd_sn``; counts it if kept."""
        if immediate:
            return Admission.NOW
        offset = (cmd_sn - self.exp_cmd_sn) & SN_MASK
        window = (self.max_cmd_sn - self.exp_cmd_sn + 1) & SN_MASK
        if offset >= window or cmd_sn in self._waiting:
            return Admission.DROP
        self._outstanding += 1
        if offset:
            self._waiting[cmd_sn] = asyncio.get_running_loop().create_future()
            return Admission.QUEUED
        self.exp_cmd_sn = sn_add(self.exp_cmd_sn, 1)
        while self.exp_cmd_sn in self._waiting:
            fut = self._waiting.pop(self.exp_cmd_sn)
            if not fut.done():
                fut.set_result(None)
            self.exp_cmd_sn = sn_add(self.exp_cmd_sn, 1)
        return Admission.NOW

    async def turn(self, cmd_sn: int) -> None:
        """Wait until a queued command's CmdSN has been reached."""
        fut = self._waiting.get(cmd_sn)
        if fut is not None:
            await fut

    def release(self) -> None:
        """A counted command finished: open the window by one."""
        self._outstanding = max(0, self._outstanding - 1)
        candidate = sn_add(self.exp_cmd_sn, self.depth - self._outstanding - 1)
        if sn_lt(self.max_cmd_sn, candidate):
            self.max_cmd_sn = candidate

    def close(self) -> None:
        for fut in self._waiting.values():
            fut.cancel()
        self._waiting.clear()

    def describe(self) -> dict[str, object]:
        return {
            "tsih": self.tsih,
            "initiator": self.initiator_name,
            "isid": self.isid.hex(),
            "target": self.target.iqn if self.target else None,
            "type": self.kind.value,
            "peer": self.connection.stream.peer if self.connection else None,
        }
