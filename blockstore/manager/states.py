"""The state machines of volumes, snapshots, attachments and backups.

Transient states (``TRANSIENT``) are the ones a restart must resolve; every
operation names the states it may start from, so the check and the change
happen in one LMDB transaction.
"""

from __future__ import annotations

from blockstore.manager.errors import BadRequest

# Volume states (Cinder's names).
CREATING = "creating"
AVAILABLE = "available"
ATTACHING = "attaching"
IN_USE = "in-use"
DETACHING = "detaching"
DELETING = "deleting"
EXTENDING = "extending"
BACKING_UP = "backing-up"
RESTORING = "restoring-backup"
ERROR = "error"
ERROR_DELETING = "error_deleting"
ERROR_EXTENDING = "error_extending"
ERROR_RESTORING = "error_restoring"
MAINTENANCE = "maintenance"  # a migration holds the volume (Cinder's lock_volume)

VOLUME_TRANSIENT = frozenset(
    {CREATING, ATTACHING, DETACHING, DELETING, EXTENDING, BACKING_UP, RESTORING, MAINTENANCE}
)
# Where each volume operation may start.
CAN_DELETE = frozenset({AVAILABLE, ERROR, ERROR_DELETING, ERROR_EXTENDING, ERROR_RESTORING})
# A forced delete (admin): also stuck or half-attached states, never one a task is working in.
CAN_FORCE_DELETE = CAN_DELETE | frozenset({ATTACHING, IN_USE, DETACHING, ERROR})
CAN_EXTEND = frozenset({AVAILABLE, IN_USE})
CAN_ATTACH = frozenset({AVAILABLE})
CAN_ATTACH_MULTI = frozenset({AVAILABLE, ATTACHING, IN_USE})
CAN_SNAPSHOT = frozenset({AVAILABLE})
CAN_SNAPSHOT_FORCED = frozenset({AVAILABLE, IN_USE})
CAN_CLONE = frozenset({AVAILABLE, IN_USE})
CAN_BACKUP = frozenset({AVAILABLE})
CAN_BACKUP_FORCED = frozenset({AVAILABLE, IN_USE})
CAN_RESTORE_INTO = frozenset({AVAILABLE, ERROR_RESTORING})
VOLUME_STATES = frozenset(
    {
        CREATING, AVAILABLE, ATTACHING, IN_USE, DETACHING, DELETING, EXTENDING,
        BACKING_UP, RESTORING, ERROR, ERROR_DELETING, ERROR_EXTENDING, ERROR_RESTORING,
        MAINTENANCE,
    }
)  # fmt: skip

# Snapshot states.
SNAP_CREATING = "creating"
SNAP_AVAILABLE = "available"
SNAP_DELETING = "deleting"
SNAP_ERROR = "error"
SNAP_ERROR_DELETING = "error_deleting"
SNAP_CAN_DELETE = frozenset({SNAP_AVAILABLE, SNAP_ERROR, SNAP_ERROR_DELETING})

# Attachment states.
ATT_RESERVED = "reserved"
ATT_ATTACHING = "attaching"
ATT_ATTACHED = "attached"
ATT_DETACHING = "detaching"

# Backup states.
BK_CREATING = "creating"
BK_AVAILABLE = "available"
BK_DELETING = "deleting"
BK_RESTORING = "restoring"
BK_VERIFYING = "verifying"
BK_ERROR = "error"
BK_ERROR_DELETING = "error_deleting"
BK_CAN_DELETE = frozenset({BK_AVAILABLE, BK_ERROR, BK_ERROR_DELETING})


def require(what: str, ident: str, status: str, allowed: frozenset[str]) -> None:
    """BadRequest in Cinder's words unless ``status`` is one of ``allowed``."""
    if status not in allowed:
        wanted = " or ".join(sorted(allowed))
        raise BadRequest(f"Invalid {what} {ident}: status must be {wanted}, not {status}.")


def settled_volume_status(attachment_states: list[str]) -> str:
    """A volume's status once no operation runs: from what its attachments are."""
    if ATT_ATTACHED in attachment_states:
        return IN_USE
    if any(s in (ATT_RESERVED, ATT_ATTACHING) for s in attachment_states):
        return ATTACHING
    return AVAILABLE
