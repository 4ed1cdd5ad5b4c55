"""The volume manager: records and their state machine in LMDB, quotas, capacity,
and the operations the API exposes (``blockstore.manager.manager.Manager``).
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
