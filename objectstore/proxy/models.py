"""The proxy core's data shapes: what front-ends pass in and get back.

No protocol lives here: user metadata is a plain ``name -> value`` dict
(names lower-case), content attributes (encoding, disposition...) are a
second dict keyed by lower-case attribute name, and times are Timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from objectstore.client import ContainerRow, ObjectRow, SubdirRow
from objectstore.timestamp import Timestamp

# Listing rows are the node client's own (no copy per row): name, size, etag...
__all__ = [
    "CONTENT_ATTRIBUTES",
    "AccountInfo",
    "ContainerInfo",
    "ContainerRow",
    "ListParams",
    "ObjectInfo",
    "ObjectMetadata",
    "ObjectRow",
    "PutResult",
    "SubdirRow",
]

# Content attributes an object keeps besides its type (front-ends map them to headers).
CONTENT_ATTRIBUTES = (
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)


@dataclass
class ObjectMetadata:
    """What a writer says about an object besides its bytes."""

    content_type: str | None = None
    user: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    delete_at: int | None = None
    etag: str | None = None  # expected MD5 (hex) of the body, when the client sent one
    # Protocol state kept with the object (S3's version id, tags, checksum...), never
    # shown by the native API. None: a POST keeps what is stored; a PUT stores none.
    system: dict[str, str] | None = None
    # When the write is stamped (None: now). A versioning archive keeps the time its
    # version was written, as Swift's internal requests carry X-Timestamp.
    timestamp: Timestamp | None = None


@dataclass
class ObjectInfo:
    """One stored version of an object, as the newest replica reports it."""

    name: str
    timestamp: Timestamp
    size: int
    etag: str
    content_type: str
    user: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    delete_at: int | None = None
    meta_timestamp: Timestamp | None = None  # of the last metadata POST, when newer
    system: dict[str, str] = field(default_factory=dict)  # see ObjectMetadata.system
    # A segmented object shown whole (size and ETag of the whole): the ETag of its
    # manifest object itself (Swift's X-Manifest-Etag); None for other objects.
    manifest_etag: str | None = None

    @property
    def last_modified(self) -> Timestamp:
        """When data or metadata last changed."""
        if self.meta_timestamp is not None and self.meta_timestamp > self.timestamp:
            return self.meta_timestamp
        return self.timestamp


@dataclass
class PutResult:
    etag: str
    timestamp: Timestamp
    size: int


@dataclass
class ContainerInfo:
    """Stats and metadata of a container (``system`` holds ACLs and protocol state)."""

    name: str
    object_count: int
    bytes_used: int
    timestamp: Timestamp | None = None
    user: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)

    @property
    def read_acl(self) -> str:
        return self.system.get("read-acl", "")

    @property
    def write_acl(self) -> str:
        return self.system.get("write-acl", "")


@dataclass
class AccountInfo:
    name: str
    container_count: int
    object_count: int
    bytes_used: int
    timestamp: Timestamp | None = None
    user: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)
    exists: bool = True  # False: never created; the numbers are zeros


@dataclass
class ListParams:
    """Listing controls shared by account and container listings."""

    limit: int = 10000
    marker: str = ""
    end_marker: str = ""
    prefix: str = ""
    delimiter: str = ""
    reverse: bool = False
    path: str | None = None  # container listings only: Swift's ?path=
