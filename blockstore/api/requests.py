"""The volume API's request bodies, parsed at the edge into typed request objects.

``parse`` does what the HTTP layer owns: the body's shape (an object where one is
due), Cinder's field names and their older aliases (``display_name``), defaults,
what depends on the microversion, and the values themselves, checked by the same
:mod:`blockstore.manager.validate` functions the services use (which take an
already checked value unchanged), so the services receive typed values. A handler
that changes something checks the caller's write right first (:meth:`Ctx.must_write`)
and parses after, so that a reader is refused (403) before being told a value is
wrong (400), as Cinder does. A field typed :data:`Json` is a JSON value that only
the service can judge (an id it looks up, a type it resolves). Each error is the
one the API gave before these objects existed (same status, same message), in
the order the services check them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar

from blockstore.api.context import flag
from blockstore.manager import validate
from blockstore.manager.attachments import check_connector
from blockstore.manager.core import Caller
from blockstore.manager.errors import BadRequest

# A JSON value as the client sent it, judged by the service that takes it.
Json: TypeAlias = object
AZ = "nova"  # the one availability zone
R = TypeVar("R")
# No cap on sizes: for callers without the service's settings (the services still cap).
NO_CAP = 2**63
# Checks ``imageRef`` as the image source does (``ImageSource.check_image_ref``).
ImageCheck = Callable[[Any], str]


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


def _name(value: Json) -> str | None:
    """A name as ``validate.text`` checks it; absent stays None (the service's "")."""
    return None if value is None else validate.text(value, "name")


def _description(value: Json) -> str | None:
    if value is None:
        return None
    return validate.text(value, "description", validate.MAX_DESCRIPTION)


def _metadata(value: Json) -> dict[str, str] | None:
    return None if value is None else validate.metadata(value)


def _id(value: Json, message: str) -> str:
    """A required id given as a string (the service looks it up: 404 if unknown)."""
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input received: {message}.")
    return value


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
    """``POST /volumes``: blank, or from a snapshot, a volume or an image. The type and
    the sources are references the service resolves (404 when unknown)."""

    size: int | None = None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_ref: str | None = None
    metadata: dict[str, str] | None = None
    multiattach: bool | None = None


@dataclass(frozen=True)
class VolumeFromBackup:
    """``POST /volumes`` with ``backup_id``: a new volume restored from the backup."""

    backup_id: Json
    name: Json = None
    size: Json = None


def parse_volume_create(
    body: Json, *, max_gb: int = NO_CAP, check_image: ImageCheck | None = None
) -> VolumeCreate | VolumeFromBackup:
    """Checked in the order ``Volumes.create_volume`` checks; ``check_image`` is the image
    source's check of ``imageRef`` (without one, only its being a string is checked)."""
    spec = obj(body, "volume")
    az = spec.get("availability_zone")
    if az not in (None, AZ):
        raise BadRequest(f"Invalid input received: Availability zone '{str(az)[:40]}' is invalid.")
    if spec.get("backup_id") is not None:
        # Checked by the backup service: the backup is looked up before the size.
        return VolumeFromBackup(spec["backup_id"], spec.get("name"), spec.get("size"))
    snapshot_id, source_volid = spec.get("snapshot_id"), spec.get("source_volid")
    image_ref = spec.get("imageRef")
    validate.one_source(snapshot_id, source_volid, image_ref)
    size = spec.get("size")
    if size is not None or not (snapshot_id or source_volid):
        size = validate.size_gb(size, maximum=max_gb)
    name = _name(_described(spec, "name"))
    description = _description(_described(spec, "description"))
    metadata = _metadata(spec.get("metadata"))
    if image_ref is not None:
        image_ref = (check_image or _image_ref)(image_ref)
    multiattach = spec.get("multiattach")
    if multiattach is not None:
        multiattach = validate.boolean(multiattach, "multiattach")
    volume_type = spec.get("volume_type")
    if volume_type is not None and not isinstance(volume_type, str):
        raise BadRequest("Invalid input received: volume_type must be a string.")
    return VolumeCreate(
        size=size,
        name=name,
        description=description,
        volume_type=volume_type,
        # Looked up as strings (an unknown one is the service's 404).
        snapshot_id=None if snapshot_id is None else str(snapshot_id),
        source_volid=None if source_volid is None else str(source_volid),
        image_ref=image_ref,
        metadata=metadata,
        multiattach=multiattach,
    )


def _image_ref(ref: Json) -> str:
    if not isinstance(ref, str):
        raise BadRequest("Invalid input received: imageRef must be '<container>/<object>'.")
    return ref


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

    new_size: int

    @classmethod
    def parse(cls, args: Json, *, max_gb: int = NO_CAP) -> Extend:
        new_size = action_args(args).get("new_size")
        return cls(validate.size_gb(new_size, "new_size", maximum=max_gb))


@dataclass(frozen=True)
class Connect:
    """``os-initialize_connection`` and ``os-terminate_connection``: an os-brick connector."""

    connector: dict[str, Any]

    @classmethod
    def parse(cls, args: Json) -> Connect:
        return cls(check_connector(action_args(args).get("connector")))


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
    value: bool

    @classmethod
    def parse(cls, args: Json, flag_name: str) -> SetFlag:
        return cls(flag_name, validate.boolean(action_args(args).get(flag_name), flag_name))


@dataclass(frozen=True)
class Retype:
    """``os-retype``: the new type by name or id (resolved by the service)."""

    new_type: str
    migration_policy: Literal["never", "on-demand"] | None = None

    @classmethod
    def parse(cls, args: Json) -> Retype:
        """Checked in the order ``Volumes.retype_volume`` checks."""
        a = action_args(args)
        new_type, policy = validate.retype_args(a.get("new_type"), a.get("migration_policy"))
        return cls(new_type, policy)


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


@dataclass(frozen=True)
class Migrate:
    """``os-migrate_volume``: ``host`` (``host@backend#pool``), ``force_host_copy`` and
    ``lock_volume`` (the copy here is always offline, so the volume is always locked)."""

    host: Json
    force_host_copy: Json

    @classmethod
    def parse(cls, args: Json) -> Migrate:
        a = action_args(args)
        return cls(a.get("host"), a.get("force_host_copy", False))


# -- snapshots, backups, attachments ------------------------------------------------------


@dataclass(frozen=True)
class SnapshotCreate:
    """``POST /snapshots``; ``force`` as the microversion reads it."""

    volume_id: str
    name: str | None = None
    description: str | None = None
    force: bool = False
    metadata: dict[str, str] | None = None

    @classmethod
    def parse(cls, body: Json, version: tuple[int, int]) -> SnapshotCreate:
        """Checked in the order ``Snapshots.create_snapshot`` checks."""
        spec = obj(body, "snapshot")
        force = _snapshot_force(spec, version)
        volume_id = _id(spec.get("volume_id"), "a snapshot needs a volume_id")
        name = _name(_described(spec, "name"))
        description = _description(_described(spec, "description"))
        metadata = _metadata(spec.get("metadata"))
        return cls(
            volume_id,
            name=name,
            description=description,
            force=validate.boolean(force, "force"),
            metadata=metadata,
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

    volume_id: str
    name: str | None = None
    description: str | None = None
    incremental: bool = False
    force: bool = False
    metadata: dict[str, str] | None = None

    @classmethod
    def parse(cls, body: Json) -> BackupCreate:
        """Checked in the order ``Backups.create_backup`` checks."""
        spec = obj(body, "backup")
        volume_id = _id(spec.get("volume_id"), "a backup needs a volume_id")
        name = _name(spec.get("name"))
        description = _description(spec.get("description"))
        incremental = validate.boolean(spec.get("incremental", False), "incremental")
        force = validate.boolean(spec.get("force", False), "force")
        return cls(
            volume_id,
            name=name,
            description=description,
            incremental=incremental,
            force=force,
            metadata=_metadata(spec.get("metadata")),
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

    volume_uuid: str
    instance_uuid: str | None = None
    # None: the volume's read-only flag decides (Cinder 3.54).
    mode: Literal["rw", "ro"] | None = None
    connector: dict[str, Any] | None = None

    @classmethod
    def parse(cls, body: Json) -> AttachmentCreate:
        """Checked in the order ``Attachments.reserve`` checks."""
        spec = obj(body, "attachment")
        volume_uuid = _id(spec.get("volume_uuid"), "an attachment needs a volume_uuid")
        instance_uuid = spec.get("instance_uuid")
        if instance_uuid is not None:
            instance_uuid = validate.text(instance_uuid, "instance_uuid")
        mode = validate.attach_mode(spec.get("mode"))
        # An empty connector (what `openstack volume attachment create` sends without
        # --connect) means none, as in Cinder: the attachment is only reserved.
        connector = spec.get("connector") or None
        return cls(
            volume_uuid,
            instance_uuid=instance_uuid,
            mode=mode,
            connector=None if connector is None else check_connector(connector),
        )


@dataclass(frozen=True)
class AttachmentUpdate:
    """``PUT /attachments/{id}``: the initiator's connector."""

    connector: dict[str, Any]

    @classmethod
    def parse(cls, body: Json) -> AttachmentUpdate:
        if not isinstance(body, dict) or "connector" not in body:
            raise BadRequest("Invalid input received: 'attachment' needs a connector.")
        return cls(check_connector(body["connector"]))


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
