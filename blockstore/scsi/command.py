"""What crosses the boundary between a SCSI transport and a logical unit.

The iSCSI target builds a :class:`ScsiCommand` per SCSI Command PDU and
sends back what the :class:`ScsiResult` holds; it truncates data-in to the
expected length and computes residuals itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from blockstore.scsi.constants import Status
from blockstore.scsi.sense import ScsiError


@dataclass(frozen=True)
class Nexus:
    """An I_T nexus: who sent the command, through which target port.

    Persistent reservations and unit attentions are kept per nexus.
    """

    initiator_port: str  # e.g. "iqn.x,i,0x<ISID hex>"
    target_port: str  # e.g. "iqn.y,t,0x0001"
    relative_port: int = 1

    @property
    def initiator_name(self) -> str:
        """The initiator's device name (the port name without ",i,0x<ISID>")."""
        return self.initiator_port.split(",", 1)[0]


@dataclass
class ScsiCommand:
    """One SCSI command as the transport received it."""

    cdb: bytes
    nexus: Nexus
    data_out: memoryview | None = None
    expected_length: int = 0  # expected data transfer length (bytes)
    task_tag: int = 0


@dataclass
class ScsiResult:
    """Status, data-in and sense data of one command."""

    status: int
    data: bytes | memoryview | bytearray = b""
    sense: bytes | None = None
    # Bytes of data-out the CDB asked for (None: no data-out, or same as received).
    # A transport compares it with the expected length to report residuals
    # of writes (overflow when the initiator sent less than the CDB said).
    transfer_length: int | None = None

    @property
    def good(self) -> bool:
        return self.status == Status.GOOD


def good(data: bytes | memoryview | bytearray = b"") -> ScsiResult:
    return ScsiResult(Status.GOOD, data)


def error_result(err: ScsiError, descriptor: bool = False) -> ScsiResult:
    """The result of a command that ended in ``err``."""
    sense = err.sense.encode(descriptor) if err.sense is not None else None
    return ScsiResult(err.status, b"", sense)


def allocation(
    data: bytes | bytearray | memoryview, alloc_len: int
) -> bytes | bytearray | memoryview:
    """Data-in cut to the CDB's ALLOCATION LENGTH (never an error to be short)."""
    if len(data) <= alloc_len:
        return data
    return memoryview(data)[:alloc_len]
