"""The SCSI command set (SPC-4 / SBC-3) of a logical unit backed by a file.

A transport (the iSCSI target) builds a :class:`ScsiCommand` per command and
awaits :meth:`LogicalUnit.execute`; target-level answers that need no LU
come from :func:`report_luns_result` and :func:`lun_not_supported_result`.
"""

from blockstore.scsi.command import Nexus, ScsiCommand, ScsiResult
from blockstore.scsi.constants import SenseKey, Status
from blockstore.scsi.luns import lun_not_supported_result, report_luns_result
from blockstore.scsi.sense import decode as decode_sense
from blockstore.scsi.unit import LogicalUnit

__all__ = [
    "LogicalUnit",
    "Nexus",
    "ScsiCommand",
    "ScsiResult",
    "SenseKey",
    "Status",
    "decode_sense",
    "lun_not_supported_result",
    "report_luns_result",
]
