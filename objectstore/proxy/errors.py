"""Failures of the proxy core, typed so each protocol maps them in one place.

``status`` is the nearest HTTP status, a hint for front-ends; the Swift
handlers and the S3 dialect each turn these into their own error form.
"""

from __future__ import annotations


class ProxyError(Exception):
    """Any failure the core reports to a front-end."""

    status = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message or type(self).__name__)
        self.message = message


class InvalidInput(ProxyError):
    """A name, metadata item or argument the core refuses (never stored)."""

    status = 400


class NotFound(ProxyError):
    status = 404


class AccountNotFound(NotFound):
    pass


class ContainerNotFound(NotFound):
    pass


class ObjectNotFound(NotFound):
    pass


class Conflict(ProxyError):
    status = 409


class ContainerNotEmpty(Conflict):
    pass


class Retained(Conflict):
    """The version is retained (:mod:`objectstore.common.retention`): it cannot be deleted."""


class PreconditionFailed(ProxyError):
    status = 412


class EtagMismatch(ProxyError):
    """The body's MD5 is not the ETag the client promised; nothing was stored."""

    status = 422


class EntityTooLarge(ProxyError):
    status = 413


class RangeNotSatisfiable(ProxyError):
    """No requested byte range overlaps the object (``size`` bytes long)."""

    status = 416

    def __init__(self, size: int) -> None:
        super().__init__(f"no satisfiable range in {size} bytes")
        self.size = size


class ClientDisconnected(ProxyError):
    """The body ended before its declared length; nothing was stored."""

    status = 499


class ClientTimeout(ProxyError):
    """The client stopped sending the body; nothing was stored."""

    status = 408


class ServiceUnavailable(ProxyError):
    """Too few storage nodes answered to reach a quorum."""

    status = 503
