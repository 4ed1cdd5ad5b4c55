"""Values and errors of the storage node's internal API.

Defined here, on neutral ground, so that the node and its client share them
without importing each other; the proxy and the tools reach them through
``objectstore.client``, which re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from objectstore.timestamp import Timestamp


class NodeAddress(Protocol):
    """What the client needs of a ``ring.Device`` (read-only: devices are frozen)."""

    @property
    def ip(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def device(self) -> str: ...


# --- errors -------------------------------------------------------------------
class NodeClientError(Exception):
    """Base of every error raised by :class:`NodeClient`."""


class NodeUnavailable(NodeClientError):
    """The node could not be reached, or did not answer within the timeout."""

    def __init__(self, node: str, reason: str) -> None:
        super().__init__(f"{node}: {reason}")
        self.node = node
        self.reason = reason


class NodeError(NodeClientError):
    """The node answered with an error status."""

    def __init__(self, status: int, body: str = "", timestamp: Timestamp | None = None) -> None:
        super().__init__(f"{status} {body}".strip())
        self.status = status
        self.body = body
        #: X-Backend-Timestamp of the answer, when the node sent one.
        self.timestamp = timestamp


class BadRequest(NodeError):
    """400: the node refused a name, partition, header or metadata item."""


class NotFound(NodeError):
    """404. ``timestamp`` is the tombstone's (deleted) or None (never existed)."""


class Conflict(NodeError):
    """409: a newer version is stored (``timestamp``), or a container is not empty."""


class PreconditionFailed(NodeError):
    """412."""


class RangeNotSatisfiable(NodeError):
    """416: the byte range lies outside the object."""


class EtagMismatch(NodeError):
    """422: the body's MD5 differs from ``expected_etag``; nothing was stored."""


class InsufficientStorage(NodeError):
    """507: the device is unmounted, missing or full."""


_ERRORS: dict[int, type[NodeError]] = {
    400: BadRequest,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    416: RangeNotSatisfiable,
    422: EtagMismatch,
    507: InsufficientStorage,
}


def error_for(status: int, body: str = "", timestamp: Timestamp | None = None) -> NodeError:
    """The typed error for an HTTP status (NodeError for the others)."""
    return _ERRORS.get(status, NodeError)(status, body, timestamp)


# --- values -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ContainerUpdate:
    """Which container replica an object node updates (replica i -> replica i)."""

    dev: NodeAddress
    part: int


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """Which account replica a container node reports its stats to."""

    dev: NodeAddress
    part: int


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What the node knows of one object version (never its body)."""

    timestamp: Timestamp  # of the PUT that wrote the data
    size: int
    etag: str  # hex MD5 of the body
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)  # user metadata as stored
    delete_at: int | None = None  # unix seconds, X-Delete-At
    meta_timestamp: Timestamp | None = None  # of the last POST (None: no POST since the PUT)

    @property
    def last_modified(self) -> Timestamp:
        """The newer of the data and metadata timestamps (Swift's Last-Modified)."""
        if self.meta_timestamp is not None and self.meta_timestamp > self.timestamp:
            return self.meta_timestamp
        return self.timestamp


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    put_timestamp: Timestamp
    delete_timestamp: Timestamp | None
    created_at: Timestamp
    object_count: int
    bytes_used: int
    metadata: dict[str, str] = field(default_factory=dict)  # incl. X-Container-Read/Write


@dataclass(frozen=True, slots=True)
class AccountInfo:
    put_timestamp: Timestamp
    delete_timestamp: Timestamp | None
    created_at: Timestamp
    container_count: int
    object_count: int
    bytes_used: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectRow:
    """One object in a container listing."""

    name: str
    size: int
    etag: str
    content_type: str
    last_modified: Timestamp


@dataclass(frozen=True, slots=True)
class ContainerRow:
    """One container in an account listing."""

    name: str
    object_count: int
    bytes_used: int
    last_modified: Timestamp


@dataclass(frozen=True, slots=True)
class SubdirRow:
    """A common prefix ending in the delimiter (a 'directory')."""

    subdir: str

    @property
    def name(self) -> str:
        return self.subdir


class ObjectListing(list):  # list[ObjectRow | SubdirRow]
    """Rows of a container listing; ``.info`` is the container's info."""

    info: ContainerInfo


class ContainerListing(list):  # list[ContainerRow | SubdirRow]
    """Rows of an account listing; ``.info`` is the account's info."""

    info: AccountInfo


@dataclass(frozen=True, slots=True)
class ContainerRowUpdate:
    """One object's row in a container listing, as sent node to node."""

    part: int
    account: str
    container: str
    obj: str
    timestamp: Timestamp
    size: int
    etag: str
    content_type: str
    deleted: bool

    def pack(self) -> list[Any]:
        return [
            self.part,
            self.account,
            self.container,
            self.obj,
            self.timestamp.ticks,
            self.size,
            self.etag,
            self.content_type,
            self.deleted,
        ]

    @classmethod
    def unpack(cls, row: list[Any]) -> ContainerRowUpdate:
        part, a, c, o, ticks, size, etag, ctype, deleted = row
        return cls(part, a, c, o, Timestamp.from_ticks(ticks), size, etag, ctype, bool(deleted))


@dataclass(frozen=True, slots=True)
class AccountRowUpdate:
    """One container's row in an account listing (its stats), node to node."""

    part: int
    account: str
    container: str
    put_timestamp: Timestamp
    delete_timestamp: Timestamp | None
    object_count: int
    bytes_used: int
    stats_timestamp: Timestamp  # newest change counted in the stats; older reports lose

    def pack(self) -> list[Any]:
        dts = self.delete_timestamp.ticks if self.delete_timestamp else 0
        return [
            self.part,
            self.account,
            self.container,
            self.put_timestamp.ticks,
            dts,
            self.object_count,
            self.bytes_used,
            self.stats_timestamp.ticks,
        ]

    @classmethod
    def unpack(cls, row: list[Any]) -> AccountRowUpdate:
        part, a, c, put, dele, count, used, stats = row
        return cls(
            part,
            a,
            c,
            Timestamp.from_ticks(put),
            Timestamp.from_ticks(dele) if dele else None,
            count,
            used,
            Timestamp.from_ticks(stats),
        )
