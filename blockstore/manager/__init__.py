"""The volume manager: records and their state machine in LMDB, quotas, capacity,
and the services the API calls, each an object over one shared
:class:`~blockstore.manager.context.Context`: volume types (``types``), volumes,
snapshots, attachments, exports, quotas (``quotaops``) and start-up reconcile.
Backups and images live in ``blockstore.backup``, which may import this package but
not the other way round; ``blockstore.services`` wires them all together.
"""

from blockstore.manager.core import BackupSettings, Caller, Settings
from blockstore.manager.errors import (
    BackendError,
    BadRequest,
    Conflict,
    Forbidden,
    NoCapacity,
    NotFound,
    OverQuota,
    VolumeError,
)
from blockstore.manager.store import Store

__all__ = [
    "BackendError",
    "BackupSettings",
    "BadRequest",
    "Caller",
    "Conflict",
    "Forbidden",
    "NoCapacity",
    "NotFound",
    "OverQuota",
    "Settings",
    "Store",
    "VolumeError",
]
