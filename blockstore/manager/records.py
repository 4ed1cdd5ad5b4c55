"""The records the manager keeps in LMDB: volumes, snapshots, attachments,
backups, volume types, QoS specs and per-project quota overrides.

Each record is a dataclass; stored values are ``VERSION`` byte + msgpack of
its fields. Decoding ignores unknown fields and fills missing ones with
defaults, so a newer writer's record still reads, and older records read
after a field is added.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import msgpack

VERSION = 1
T = TypeVar("T", bound="Record")


class CorruptRecord(Exception):
    """A stored value is not a record this code can read."""


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> float:
    return time.time()


@dataclass
class Record:
    """Common fields and the codec; ``kind`` names the LMDB sub-database."""

    kind: ClassVar[str] = ""
    scoped: ClassVar[bool] = True  # keyed by project + id (False: global, by id)

    id: str = field(default_factory=new_id)
    project: str = ""
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)

    def key(self) -> bytes:
        return record_key(self.project if self.scoped else "", self.id)

    def encode(self) -> bytes:
        return bytes([VERSION]) + msgpack.packb(dataclasses.asdict(self), use_bin_type=True)

    @classmethod
    def decode(cls: type[T], raw: bytes) -> T:
        if not raw or raw[0] != VERSION:
            raise CorruptRecord(f"{cls.kind} record of unknown version {raw[:1]!r}")
        try:
            values = msgpack.unpackb(raw[1:], raw=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise CorruptRecord(f"{cls.kind} record: {exc}") from None
        if not isinstance(values, dict):
            raise CorruptRecord(f"{cls.kind} record is not a map")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def touch(self) -> None:
        self.updated_at = now()


def record_key(project: str, ident: str) -> bytes:
    return project.encode() + b"\0" + ident.encode()


def project_prefix(project: str) -> bytes:
    return project.encode() + b"\0"


@dataclass
class Volume(Record):
    kind: ClassVar[str] = "volumes"

    user: str = ""
    name: str = ""
    description: str = ""
    size: int = 0  # GiB
    status: str = "creating"
    previous_status: str | None = None  # where a transient state returns to
    volume_type_id: str = ""
    snapshot_id: str | None = None
    source_volid: str | None = None
    backup_id: str | None = None  # restored from
    image_ref: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    bootable: bool = False
    multiattach: bool = False
    readonly: bool = False
    thick: bool = False
    extend_to: int | None = None  # the size asked by an extend in progress
    cascade: bool = False  # a delete in progress also deletes the snapshots
    fail_reason: str | None = None
    host: str = ""  # the backend holding the bytes, ``host@backend#pool`` ("": the local one)
    migration_status: str | None = None  # Cinder's: migrating, success, error
    down_status: str | None = None  # the status before its backend went down


@dataclass
class Snapshot(Record):
    kind: ClassVar[str] = "snapshots"

    user: str = ""
    volume_id: str = ""
    name: str = ""
    description: str = ""
    size: int = 0
    status: str = "creating"
    metadata: dict[str, str] = field(default_factory=dict)
    fail_reason: str | None = None


@dataclass
class Attachment(Record):
    kind: ClassVar[str] = "attachments"

    volume_id: str = ""
    instance_uuid: str | None = None
    status: str = "reserved"  # reserved -> attaching -> attached -> detaching
    attach_mode: str = "rw"
    connector: dict[str, Any] | None = None
    chap_user: str | None = None
    chap_secret: str | None = None  # stored for re-export after a restart; never logged
    mountpoint: str | None = None
    host_name: str | None = None
    attached_at: float | None = None
    # Made by a service request for instance_uuid (a server of the compute service): only
    # a service request ends it, or an admin's os-force_detach (Cinder's rule, bug 2004555).
    service_owned: bool = False

    @property
    def initiator(self) -> str | None:
        if not self.connector:
            return None
        value = self.connector.get("initiator")
        return value if isinstance(value, str) else None


@dataclass
class Backup(Record):
    kind: ClassVar[str] = "backups"

    user: str = ""
    volume_id: str = ""
    snapshot_id: str | None = None
    name: str = ""
    description: str = ""
    status: str = "creating"
    size: int = 0  # GiB of the volume backed up
    container: str = ""
    incremental: bool = False
    parent_id: str | None = None
    object_count: int = 0  # chunks this backup uploaded
    stored_bytes: int = 0  # compressed bytes it uploaded
    chunk_count: int = 0  # chunks in its manifest
    progress: float = 0.0  # percent of the current operation
    fail_reason: str | None = None
    data_timestamp: float = field(default_factory=now)
    restore_volume_id: str | None = None  # the volume a restore in progress writes
    volume_previous_status: str | None = None
    verify_result: dict[str, Any] | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class VolumeType(Record):
    kind: ClassVar[str] = "types"
    scoped: ClassVar[bool] = False

    name: str = ""
    description: str = ""
    is_public: bool = True
    extra_specs: dict[str, str] = field(default_factory=dict)
    qos_specs_id: str | None = None

    @property
    def thick(self) -> bool:
        return self.extra_specs.get("provisioning:type", "thin").lower() == "thick"

    @property
    def multiattach(self) -> bool:
        return spec_true(self.extra_specs.get("multiattach"))

    @property
    def write_cache(self) -> bool:
        """The LUN's volatile write cache (WCE=1) unless ``write_cache`` is ``<is> False``."""
        value = self.extra_specs.get("write_cache")
        return value is None or spec_true(value)


@dataclass
class QosSpec(Record):
    kind: ClassVar[str] = "qos"
    scoped: ClassVar[bool] = False

    name: str = ""
    consumer: str = "back-end"
    specs: dict[str, str] = field(default_factory=dict)


@dataclass
class QuotaSet(Record):
    """Per-project overrides of the configured default quotas (id = project)."""

    kind: ClassVar[str] = "quotas"
    scoped: ClassVar[bool] = False

    limits: dict[str, int] = field(default_factory=dict)


def spec_true(value: str | None) -> bool:
    """Cinder's boolean extra-spec forms: ``<is> True``, ``True``, ``true``."""
    if value is None:
        return False
    text = value.strip().lower()
    if text.startswith("<is>"):
        text = text[4:].strip()
    return text in ("true", "1", "yes")


KINDS: tuple[type[Record], ...] = (
    Volume,
    Snapshot,
    Attachment,
    Backup,
    VolumeType,
    QosSpec,
    QuotaSet,
)
