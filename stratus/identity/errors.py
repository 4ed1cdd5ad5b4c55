"""Typed failures of the identity store, so callers can map them to their protocol."""

from __future__ import annotations


class IdentityError(Exception):
    """Any identity failure: bad input, a broken store, a refused operation."""


class InvalidName(IdentityError, ValueError):
    """A project, user, role, key or credential is not well formed."""


class NotFound(IdentityError, LookupError):
    """The project, user or credential does not exist."""


class AlreadyExists(IdentityError):
    """The project, user or credential exists already."""
