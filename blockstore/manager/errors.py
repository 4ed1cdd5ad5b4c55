"""The volume service's failures, named by what the caller did wrong.

The API maps each class to Cinder's fault form in one place
(``blockstore.api.errors``); the manager never builds HTTP answers.
"""

from __future__ import annotations


class VolumeError(Exception):
    """Base of every failure the volume service reports to a caller."""

    status = 500
    fault = "computeFault"


class BadRequest(VolumeError):
    """The request is malformed or not allowed in the resource's current state."""

    status = 400
    fault = "badRequest"


class Forbidden(VolumeError):
    """The caller's role does not allow the operation."""

    status = 403
    fault = "forbidden"


class NotFound(VolumeError):
    """No such resource in the caller's project (other projects' resources included)."""

    status = 404
    fault = "itemNotFound"


class Conflict(VolumeError):
    """The resource is busy with another operation or a name is taken."""

    status = 409
    fault = "conflictingRequest"


class OverQuota(VolumeError):
    """The project's quota would be exceeded."""

    status = 413
    fault = "overLimit"


class NoCapacity(VolumeError):
    """The backend has no room for the volume (thin over-subscription or free space)."""

    status = 400
    fault = "badRequest"


class BackendError(VolumeError):
    """The backend or the target failed while doing what was asked."""

    status = 500
    fault = "computeFault"
