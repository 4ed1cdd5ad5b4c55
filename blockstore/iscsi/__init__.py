"""The built-in userspace iSCSI target (RFC 7143) that exports volumes.

:class:`TargetServer` listens on a portal and holds :class:`Target` objects;
each target serves :class:`blockstore.scsi.LogicalUnit` objects as LUNs to
the initiators its ACL lets in (CHAP one-way or mutual).
"""

from blockstore.iscsi.chap import Credentials
from blockstore.iscsi.negotiate import TargetLimits
from blockstore.iscsi.server import TargetServer
from blockstore.iscsi.target import AccessDenied, Target, normalize_name

__all__ = [
    "AccessDenied",
    "Credentials",
    "Target",
    "TargetLimits",
    "TargetServer",
    "normalize_name",
]
