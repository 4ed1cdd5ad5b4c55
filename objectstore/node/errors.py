"""Outcomes of device operations that are not successes (mapped to HTTP in
one place: ``objectstore.node.server``)."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's refusals; ``ticks`` is the stored timestamp if any."""

    status = 500

    def __init__(self, ticks: int = 0, detail: str = "") -> None:
        super().__init__(detail or self.__class__.__name__)
        self.ticks = ticks


class StaleWrite(StoreError):
    """A version at least as new is stored: last writer wins (409)."""

    status = 409


class Missing(StoreError):
    """No such object/container/account; ``ticks`` is its tombstone's (404)."""

    status = 404


class NotEmpty(StoreError):
    """A container that still lists objects cannot be deleted (409)."""

    status = 409


class DeviceUnavailable(StoreError):
    """The device is not mounted, missing, or too full to write (507)."""

    status = 507
