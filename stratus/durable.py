"""Making names durable: a file's data is synced by fsync on the file, but the
entry that names it (and every directory above it made since) only by an
fsync of the directory that holds it. Storage code that creates directories
or files it counts on after a power cut calls these once the names exist.
"""

from __future__ import annotations

import os


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync the directory ``path``: the entries in it are durable afterwards."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_entries(path: str | os.PathLike[str], *, levels: int = 1) -> None:
    """Make ``path``'s own entries durable, and its name in the ``levels`` directories above."""
    current = os.path.abspath(path)
    for _ in range(levels + 1):
        fsync_dir(current)
        current = os.path.dirname(current)
