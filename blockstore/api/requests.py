"""The volume API's request bodies, parsed at the edge into typed request objects.

``parse`` does what the HTTP layer owns: the body's shape (an object where one is
due), Cinder's field names and their older aliases (``display_name``), defaults,
and what depends on the microversion. The values themselves are checked by the
service they go to, after the caller's rights, so that a reader is refused (403)
before being told a value is wrong (400), as Cinder does; a field typed
:data:`Json` is such an unchecked JSON value. Each error is the one the API gave
before these objects existed (same status, same message).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from blockstore.api.context import flag
from blockstore.manager.core import Caller
from blockstore.manager.errors import BadRequest

# A JSON value as the client sent it, checked by the service that takes it.
Json: TypeAlias = object
AZ = "nova"  # the one availability zone
R = TypeVar("R")


def obj(value: Json, what: str) -> dict[str, Json]:
    """``value`` as a JSON object, else Cinder's "'<what>' must be an object"."""
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input received: '{what}' must be an object.")
    return value


def action_args(args: Json) -> dict[str, Json]:
    """An action's arguments: an object, or nothing (``null``)."""
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise BadRequest("Invalid input received: the action's arguments must be an object.")
    return args


def one_action(body: Json) -> tuple[str, Json]:
    """``{"<action>": <arguments>}``: the action's name and its arguments."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid input received: an action body has exactly one key.")
    ((name, args),) = body.items()
    return str(name), args


def _described(spec: dict[str, Json], key: str) -> Json:
    """``name``/``description``, or Cinder v1's ``display_*`` spelling when absent."""
    return spec.get(key, spec.get(f"display_{key}"))


# -- lists (GET /volumes, /snapshots, /backups and their /detail) -------------------------

# A service's list call: (caller, filters, limit, marker, sort...) -> (page, more follow).
Lister = Callable[..., tuple[list[R], bool]]


@dataclass(frozen=True)
class ListQuery:
    """A list's query string: filters, Cinder's paging and sorting, ``all_tenants``."""

    filters: dict[str, Json]
    limit: str | None = None
    marker: str | None = None
    sort: str | None = None
    sort_key: str | None = None
    sort_dir: str | None = None
    all_projects: bool = False

    @classmethod
    def parse(
        cls, query: Mapping[str, str], filter_keys: tuple[str, ...], *, metadata: bool = False
    ) -> ListQuery:
        """``filter_keys`` filter as given; ``all_tenants`` (for cloud admins) also
        filters by ``project_id``; with ``metadata``, the ``metadata`` parameter (a JSON
        object) filters by metadata items."""
        filters: dict[str, Json] = {k: query.get(k) for k in filter_keys}
        all_projects = flag(query.get("all_tenants"))
        if all_projects:
            filters["project"] = query.get("project_id")
        if metadata and "metadata" in query:
            try:
                meta = json.loads(query["metadata"])
            except ValueError:
                raise BadRequest("Invalid input received: metadata filter must be JSON.") from None
            if not isinstance(meta, dict):
                raise BadRequest("Invalid input received: metadata filter must be an object.")
            filters["metadata"] = meta
        return cls(
            filters,
            limit=query.get("limit"),
            marker=query.get("marker"),
            sort=query.get("sort"),
            sort_key=query.get("sort_key"),
            sort_dir=query.get("sort_dir"),
            all_projects=all_projects,
        )

    def run(self, caller: Caller, lister: Lister[R]) -> tuple[list[R], bool]:
        """One page from ``lister`` (a service's ``list_*``) for ``caller``."""
        return lister(
            caller,
            filters=self.filters,
            limit=self.limit,
            marker=self.marker,
            sort=self.sort,
            sort_key=self.sort_key,
            sort_dir=self.sort_dir,
            all_projects=self.all_projects,
        )


# -- volumes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeCreate:
    """``POST /volumes``: blank, or from a snapshot, a volume or an image."""

    size: Json = None
    name: Json = None
    description: Json = None
    volume_type: Json = None
    snapshot_id: Json = None
    source_volid: Json = None
    image_ref: Json = None
    metadata: Json = None
    multiattach: Json = None


@dataclass(frozen=True)
class VolumeFromBackup:
    """``POST /volumes`` with ``backup_id``: a new volume restored from the backup."""

    backup_id: Json
    name: Json = None
    size: Json = None


def parse_volume_create(body: Json) -> VolumeCreate | VolumeFromBackup:
    spec = obj(body, "volume")
    az = spec.get("availability_zone")
    if az not in (None, AZ):
        raise BadRequest(f"Invalid input received: Availability zone '{str(az)[:40]}' is invalid.")
    if spec.get("backup_id") is not None:
        return VolumeFromBackup(spec["backup_id"], spec.get("name"), spec.get("size"))
    return VolumeCreate(
        size=spec.get("size"),
        name=_described(spec, "name"),
        description=_described(spec, "description"),
        volume_type=spec.get("volume_type"),
        snapshot_id=spec.get("snapshot_id"),
        source_volid=spec.get("source_volid"),
        image_ref=spec.get("imageRef"),
        metadata=spec.get("metadata"),
        multiattach=spec.get("multiattach"),
    )


@dataclass(frozen=True)
class Changes:
    """``PUT /volumes/{id}`` (``/snapshots``, ``/backups``): the fields given, by their
    API names; the service keeps those it updates (name, description, metadata)."""

    given: dict[str, Json]

    @classmethod
    def parse(cls, body: Json, what: str) -> Changes:
        return cls(obj(body, what))


# -- volume actions (POST /volumes/{id}/action) ------------------------------------------


@dataclass(frozen=True)
class Extend:
    """``os-extend``."""

    new_size: Json

    @classmethod
    def parse(cls, args: Json) -> Extend:
        return cls(action_args(args).get("new_size"))


@dataclass(frozen=True)
class Connect:
    """``os-initialize_connection`` and ``os-terminate_connection``: an os-brick connector."""

    connector: Json

    @classmethod
    def parse(cls, args: Json) -> Connect:
        return cls(action_args(args).get("connector"))


@dataclass(frozen=True)
class Attach:
    """``os-attach``: complete the connecting attachment."""

    instance_uuid: Json = None
    mountpoint: Json = None
    host_name: Json = None

    @classmethod
    def parse(cls, args: Json) -> Attach:
        a = action_args(args)
        return cls(a.get("instance_uuid"), a.get("mountpoint"), a.get("host_name"))


@dataclass(frozen=True)
class Detach:
    """``os-detach`` and ``os-force_detach``: which attachment (None: the only one)."""

    attachment_id: Json = None

    @classmethod
    def parse(cls, args: Json) -> Detach:
        return cls(action_args(args).get("attachment_id"))


@dataclass(frozen=True)
class SetFlag:
    """``os-update_readonly_flag`` (``readonly``) and ``os-set_bootable`` (``bootable``)."""

    flag: str
    value: Json

    @classmethod
    def parse(cls, args: Json, flag_name: str) -> SetFlag:
        return cls(flag_name, action_args(args).get(flag_name))


@dataclass(frozen=True)
class Retype:
    """``os-retype``."""

    new_type: Json
    migration_policy: Json = None

    @classmethod
    def parse(cls, args: Json) -> Retype:
        a = action_args(args)
        return cls(a.get("new_type"), a.get("migration_policy"))


@dataclass(frozen=True)
class ResetStatus:
    """``os-reset_status`` (volumes: ``action_args``; backups: anything but an object is
    no status at all)."""

    status: Json

    @classmethod
    def parse(cls, args: Json) -> ResetStatus:
        return cls(action_args(args).get("status"))

    @classmethod
    def parse_lenient(cls, args: Json) -> ResetStatus:
        return cls(args.get("status") if isinstance(args, dict) else None)


# -- snapshots, backups, attachments ------------------------------------------------------


@dataclass(frozen=True)
class SnapshotCreate:
    """``POST /snapshots``; ``force`` as the microversion reads it."""

    volume_id: Json
    name: Json = None
    description: Json = None
    force: Json = False
    metadata: Json = None

    @classmethod
    def parse(cls, body: Json, version: tuple[int, int]) -> SnapshotCreate:
        spec = obj(body, "snapshot")
        return cls(
            spec.get("volume_id"),
            name=_described(spec, "name"),
            description=_described(spec, "description"),
            force=_snapshot_force(spec, version),
            metadata=spec.get("metadata"),
        )


def _snapshot_force(spec: dict[str, Json], version: tuple[int, int]) -> Json:
    """From 3.66 an in-use volume is snapshotted without ``force``; ``force: false`` is refused."""
    force = spec.get("force", False)
    if version < (3, 66):
        return force
    if "force" in spec and not flag(str(force)):
        raise BadRequest(
            "Invalid input received: the 'force' flag is not allowed to be false "
            "from microversion 3.66."
        )
    return True


@dataclass(frozen=True)
class BackupCreate:
    """``POST /backups``: full, or incremental on the volume's newest backup."""

    volume_id: Json
    name: Json = None
    description: Json = None
    incremental: Json = False
    force: Json = False
    metadata: Json = None

    @classmethod
    def parse(cls, body: Json) -> BackupCreate:
        spec = obj(body, "backup")
        return cls(
            spec.get("volume_id"),
            name=spec.get("name"),
            description=spec.get("description"),
            incremental=spec.get("incremental", False),
            force=spec.get("force", False),
            metadata=spec.get("metadata"),
        )


@dataclass(frozen=True)
class Restore:
    """``POST /backups/{id}/restore``: into ``volume_id``, or a new volume (``name``)."""

    volume_id: Json = None
    name: Json = None

    @classmethod
    def parse(cls, body: Json) -> Restore:
        spec = obj(body or {}, "restore")
        return cls(spec.get("volume_id"), spec.get("name"))


@dataclass(frozen=True)
class AttachmentCreate:
    """``POST /attachments``: reserve, and connect when a connector is given."""

    volume_uuid: Json
    instance_uuid: Json = None
    mode: Json = None
    connector: Json = None

    @classmethod
    def parse(cls, body: Json) -> AttachmentCreate:
        spec = obj(body, "attachment")
        return cls(
            spec.get("volume_uuid"),
            instance_uuid=spec.get("instance_uuid"),
            mode=spec.get("mode"),
            # An empty connector (what `openstack volume attachment create` sends without
            # --connect) means none, as in Cinder: the attachment is only reserved.
            connector=spec.get("connector") or None,
        )


@dataclass(frozen=True)
class AttachmentUpdate:
    """``PUT /attachments/{id}``: the initiator's connector."""

    connector: Json

    @classmethod
    def parse(cls, body: Json) -> AttachmentUpdate:
        if not isinstance(body, dict) or "connector" not in body:
            raise BadRequest("Invalid input received: 'attachment' needs a connector.")
        return cls(body["connector"])


# -- volume types and QoS specs -----------------------------------------------------------


@dataclass(frozen=True)
class TypeCreate:
    """``POST /types``."""

    name: Json
    description: Json = None
    extra_specs: Json = None
    is_public: Json = True

    @classmethod
    def parse(cls, body: Json) -> TypeCreate:
        spec = obj(body, "volume_type")
        return cls(
            spec.get("name"),
            description=spec.get("description"),
            extra_specs=spec.get("extra_specs"),
            is_public=spec.get("os-volume-type-access:is_public", spec.get("is_public", True)),
        )


@dataclass(frozen=True)
class QosCreate:
    """``POST /qos-specs``: ``{"name", "consumer", <key>: <value>...}`` (or ``specs``)."""

    name: Json
    consumer: Json
    specs: dict[str, Json]

    @classmethod
    def parse(cls, body: Json) -> QosCreate:
        spec = obj(body, "qos_specs")
        rest = {k: v for k, v in spec.items() if k not in ("name", "consumer", "specs")}
        nested = spec.get("specs")
        if isinstance(nested, dict):
            rest.update(nested)
        return cls(spec.get("name"), spec.get("consumer"), rest)
