"""Protocol-free errors of the compute glue; each API renders them in its own form.

``kind`` names the failure the way the API's own fault names do (Neutron's
``NetworkNotFound``, Nova's ``itemNotFound``...); the renderer of each API
decides what to do with it.
"""

from __future__ import annotations


class ApiError(Exception):
    """A request failed in a way the caller should be told about."""

    status = 500
    kind = "InternalError"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind


class BadRequest(ApiError):
    status, kind = 400, "BadRequest"


class Unauthorized(ApiError):
    status, kind = 401, "Unauthorized"


class Forbidden(ApiError):
    status, kind = 403, "Forbidden"


class NotFound(ApiError):
    status, kind = 404, "NotFound"


class MethodNotAllowed(ApiError):
    status, kind = 405, "MethodNotAllowed"


class Conflict(ApiError):
    status, kind = 409, "Conflict"


class TooLarge(ApiError):
    status, kind = 413, "RequestEntityTooLarge"


class UnsupportedMedia(ApiError):
    status, kind = 415, "UnsupportedMediaType"


class NotImplementedOp(ApiError):
    status, kind = 501, "NotImplemented"


class Unavailable(ApiError):
    status, kind = 503, "ServiceUnavailable"
