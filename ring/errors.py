"""The ring's exceptions: one base, one for files, one for builder misuse."""

from __future__ import annotations


class RingError(Exception):
    """Base of every error the ring package raises on purpose."""


class RingFileError(RingError):
    """A ring or builder file cannot be trusted: missing, truncated, corrupt or too new.

    Raised instead of answering from a file we do not fully understand: a wrong
    placement answer would scatter objects where nobody looks for them.
    """


class RingBuilderError(RingError, ValueError):
    """A builder request that cannot be honoured (bad device, too few devices, ...)."""
