"""Retention: object versions that no delete may remove (WORM), as the core understands it.

A protocol front-end (S3 Object Lock) marks a version with two system
entries; the core and the storage nodes honour them whichever API asks:

- ``retain-until``: epoch seconds (decimal); until then the version cannot
  be deleted, and it does not expire (``X-Delete-At`` waits for it);
- ``legal-hold``: ``ON`` keeps it the same way, with no end date.

A container whose system entry ``retention`` is set may hold such versions:
the proxy core reads the object before deleting one there (a container
without the entry costs deletes nothing). The proxy stores an object's
system entries in the node's map under ``s:`` (:data:`NODE_PREFIX`), which
is how the storage node finds them in its records.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

RETAIN_UNTIL = "retain-until"
LEGAL_HOLD = "legal-hold"
CONTAINER_FLAG = "retention"
HOLD_ON = "ON"
NODE_PREFIX = "s:"


def retained(system: Mapping[str, str], now: float | None = None, *, prefix: str = "") -> bool:
    """Whether the version with these system entries may not be deleted at ``now``."""
    if system.get(prefix + LEGAL_HOLD) == HOLD_ON:
        return True
    until = retain_until(system, prefix=prefix)
    return until is not None and until > (time.time() if now is None else now)


def retain_until(system: Mapping[str, str], *, prefix: str = "") -> float | None:
    """The end of the retention period (None: none, or unreadable)."""
    raw = system.get(prefix + RETAIN_UNTIL)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def node_retained(metadata: Mapping[str, str], now: float | None = None) -> bool:
    """:func:`retained` for a storage node's record (its map as the proxy stored it)."""
    return retained(metadata, now, prefix=NODE_PREFIX)
