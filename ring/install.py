"""Installing a ring file that arrived from elsewhere (a push): never backwards, never half.

A node accepts a ring only when it is whole (its checksum and structure
verify), newer than the one it has (a higher ``ring_version``), and of the
same shape (part power and replica count cannot change in place: every
partition would mean something else). The same version with the same
checksum is already installed (a repeated push is harmless); the same
version with another checksum is two builders' rings and is refused. The
file is written to a temporary name, fsynced, renamed over the old one and
the directory fsynced, so a reader sees the old ring or the new, and a
power cut leaves one of them.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

from ring.errors import RingError, RingFileError
from ring.ringfile import RingData, atomic_write, decode, fsync_dir, read_ring_file


class RingRefused(RingError):
    """A whole, valid ring that must not replace the installed one (older, or a conflict)."""


class Outcome(enum.Enum):
    INSTALLED = "installed"
    CURRENT = "current"  # this very ring was installed already


@dataclass(frozen=True)
class Installed:
    """What an install did, and the ring now in place."""

    outcome: Outcome
    version: int
    checksum: str
    previous: int | None  # the version replaced (None: there was no readable ring)


def install_ring(
    path: str | os.PathLike[str], blob: bytes, *, source: str = "pushed ring"
) -> Installed:
    """Put ``blob`` at ``path`` if it is a good ring newer than the one there.

    RingFileError: ``blob`` is not a whole, valid ring file (bad checksum,
    truncated, malformed). RingRefused: it is valid but older than the
    installed ring, of another shape, or another ring under the same version.
    """
    new = decode(blob, source)
    target = Path(path)
    old = _installed(target)
    if old is not None:
        _check_successor(old, new)
        if new.ring_version == old.ring_version:
            return Installed(Outcome.CURRENT, new.ring_version, new.checksum, old.ring_version)
    made = [d for d in (target.parent, *target.parent.parents) if not d.exists()]
    for missing in reversed(made):
        missing.mkdir(mode=0o700, exist_ok=True)
    atomic_write(target, blob)
    for directory in made:  # a new directory's name is durable once its parent is fsynced
        fsync_dir(directory.parent)
    return Installed(
        Outcome.INSTALLED,
        new.ring_version,
        new.checksum,
        None if old is None else old.ring_version,
    )


def _installed(path: Path) -> RingData | None:
    """The ring in place (None: none, or one so broken that any good ring beats it)."""
    if not path.exists():
        return None
    try:
        return read_ring_file(path)
    except RingFileError:
        return None


def _check_successor(old: RingData, new: RingData) -> None:
    if (new.part_power, new.replicas) != (old.part_power, old.replicas):
        raise RingRefused(
            f"ring has part power {new.part_power} and {new.replicas} replicas, the installed "
            f"one {old.part_power} and {old.replicas}; these cannot change in place"
        )
    if new.ring_version < old.ring_version:
        raise RingRefused(
            f"ring version {new.ring_version} is older than the installed {old.ring_version}"
        )
    if new.ring_version == old.ring_version and new.checksum != old.checksum:
        raise RingRefused(
            f"ring version {new.ring_version} is installed with checksum {old.checksum}, "
            f"this one has {new.checksum}: two different rings claim one version "
            "(rebalance the builder again to give the new ring a higher version)"
        )
