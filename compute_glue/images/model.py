"""The image record and the Glance v2 rules for what a client may set.

Pure logic (no I/O): the typed requests of create (:class:`ImageCreate`)
and PATCH (:class:`PatchOp`), parsed from the JSON bodies at the edge; field
validation; the visibility rules; and the JSON view. Core attributes live in fields; anything else a
client sets (``kernel_id``, ``ramdisk_id``, ``os_command_line``...) is an
extra property, a string, shown at the top level of the image as Glance does.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from compute_glue.errors import BadRequest, Forbidden

DISK_FORMATS = ("raw", "qcow2", "aki", "ari")
CONTAINER_FORMATS = ("bare", "aki", "ari")
VISIBILITIES = ("private", "public")
STATUSES = ("queued", "saving", "active", "killed", "pending_delete")
HASH_ALGO = "sha512"

# Settable at create and by PATCH; everything else below is read-only.
WRITABLE = ("name", "visibility", "protected", "os_hidden", "tags", "container_format",
            "disk_format", "min_disk", "min_ram")  # fmt: skip
READ_ONLY = ("status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
             "owner", "created_at", "updated_at")  # fmt: skip
RESERVED = ("self", "file", "schema", "location", "locations", "direct_url", "deleted",
            "deleted_at", "stores")  # fmt: skip
MAX_TAGS = 128
MAX_PROPERTIES = 128
MAX_PROPERTY_VALUE = 65535
_PROP_KEY = re.compile(r"^[A-Za-z0-9_:.\-]{1,255}$")
_UUID_PROPS = ("kernel_id", "ramdisk_id")


@dataclass
class Image:
    """One image. ``owner_user`` is whose token reaches the bytes in the owner's account."""

    id: str
    owner: str
    owner_user: str
    name: str | None = None
    status: str = "queued"
    visibility: str = "private"
    protected: bool = False
    os_hidden: bool = False
    tags: list[str] = field(default_factory=list)
    container_format: str | None = None
    disk_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Image:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in rec.items() if k in known})

    def visible_to(self, project: str, admin: bool = False) -> bool:
        return admin or self.owner == project or self.visibility == "public"

    def view(self) -> dict[str, Any]:
        """The Glance v2 JSON of the image."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "visibility": self.visibility,
            "protected": self.protected,
            "os_hidden": self.os_hidden,
            "tags": list(self.tags),
            "container_format": self.container_format,
            "disk_format": self.disk_format,
            "min_disk": self.min_disk,
            "min_ram": self.min_ram,
            "size": self.size,
            "virtual_size": self.virtual_size,
            "checksum": self.checksum,
            "os_hash_algo": self.os_hash_algo,
            "os_hash_value": self.os_hash_value,
            "owner": self.owner,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "self": f"/v2/images/{self.id}",
            "file": f"/v2/images/{self.id}/file",
            "schema": "/v2/schemas/image",
        }
        for key, value in self.properties.items():
            out.setdefault(key, value)
        return out


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass
class ImageCreate:
    """``POST /v2/images``: the attributes a client set, each checked; the rest as Glance's."""

    id: str | None = None  # None: a new UUID
    name: str | None = None
    visibility: str = "private"
    protected: bool = False
    os_hidden: bool = False
    tags: list[str] = field(default_factory=list)
    container_format: str | None = None
    disk_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    properties: dict[str, str] = field(default_factory=dict)

    def image(self, owner: str, owner_user: str, now: float) -> Image:
        """The new image record, queued for its data."""
        return Image(
            id=self.id or str(uuid.uuid4()),
            owner=owner,
            owner_user=owner_user,
            name=self.name,
            visibility=self.visibility,
            protected=self.protected,
            os_hidden=self.os_hidden,
            tags=list(self.tags),
            container_format=self.container_format,
            disk_format=self.disk_format,
            min_disk=self.min_disk,
            min_ram=self.min_ram,
            properties=dict(self.properties),
            created_at=now,
            updated_at=now,
        )


def image_create(spec: Any, *, admin: bool) -> ImageCreate:
    """A create request body, every field checked (``admin``: see :func:`set_attribute`)."""
    if not isinstance(spec, dict):
        raise BadRequest("The request body must be a JSON object.")
    image_id = spec.get("id")
    if image_id is not None and not is_uuid(image_id):
        raise BadRequest("id must be a UUID.")
    req = ImageCreate(id=image_id)
    for key, value in spec.items():
        if key == "id":
            continue
        _set(req, key, value, admin=admin, queued=True)
    check_formats(req)
    return req


def new_image(spec: Any, owner: str, owner_user: str, *, admin: bool, now: float) -> Image:
    """An image from a create request body, every field checked."""
    return image_create(spec, admin=admin).image(owner, owner_user, now)


@dataclass(frozen=True)
class PatchOp:
    """One JSON-patch operation of ``PATCH /v2/images/{id}`` on a top-level attribute.

    A malformed operation is kept, in its place, as a ``refused`` one: the
    operations apply in order, so what comes before it is refused first.
    """

    op: Literal["add", "replace", "remove", "refused"]
    key: str = ""
    value: Any = None
    refusal: str = ""  # why a refused operation is refused


def patch_list(body: Any) -> list[Any]:
    """A PATCH body: a list of at most 256 operations (see :func:`image_patch`)."""
    if not isinstance(body, list) or len(body) > 256:
        raise BadRequest("The body must be a JSON list of at most 256 patch operations.")
    return body


def image_patch(ops: list[Any]) -> tuple[PatchOp, ...]:
    """The operations of a PATCH body, each one's shape checked (its effect is :func:`apply`'s)."""
    return tuple(_patch_op(op) for op in ops)


def _patch_op(op: Any) -> PatchOp:
    if not isinstance(op, dict) or not isinstance(op.get("path"), str):
        return _refused("Each patch operation needs 'op' and a 'path' string.")
    path = op["path"]
    if not path.startswith("/") or path.count("/") != 1:
        return _refused(f"Invalid JSON pointer {path[:64]!r}: only top-level attributes.")
    key = path[1:].replace("~1", "/").replace("~0", "~")
    kind = op.get("op")
    if kind == "add" or kind == "replace":
        if "value" not in op:
            return _refused(f"Operation {kind} needs a 'value'.")
        return PatchOp(kind, key, op["value"])
    if kind == "remove":
        return PatchOp(kind, key)
    return _refused(f"Unsupported patch operation {str(kind)[:20]!r}.")


def _refused(why: str) -> PatchOp:
    return PatchOp("refused", refusal=why)


def apply(img: Image, ops: Sequence[PatchOp], *, admin: bool) -> None:
    """Apply PATCH operations in order, as one change (any refusal leaves the image as it was)."""
    for op in ops:
        if op.op == "refused":
            raise BadRequest(op.refusal)
        if op.op == "remove":
            remove_attribute(img, op.key)
            continue
        if op.op == "replace" and op.key not in img.view():
            raise BadRequest(f"Property '{op.key}' does not exist.")
        set_attribute(img, op.key, op.value, admin=admin)
    check_formats(img)


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def set_attribute(img: Image, key: str, value: Any, *, admin: bool) -> None:
    """Set one client-settable attribute (core or extra property), or refuse it.

    ``admin`` is the cloud administrator (admin of the ``admin`` project), who
    alone may publish an image to every project, as in Glance.
    """
    _set(img, key, value, admin=admin, queued=img.status == "queued")


def _set(target: Image | ImageCreate, key: str, value: Any, *, admin: bool, queued: bool) -> None:
    if key in READ_ONLY or key == "id":
        raise Forbidden(f"Attribute '{key}' is read-only.")
    if key in RESERVED:
        raise Forbidden(f"Attribute '{key}' is reserved.")
    if key in ("disk_format", "container_format") and not queued:
        # Glance's rule: the data was inspected as what these said at upload.
        raise Forbidden(f"Attribute '{key}' can be changed only while the image is queued.")
    if key in WRITABLE:
        setattr(target, key, _check_core(key, value, admin))
        return
    if not isinstance(key, str) or not _PROP_KEY.match(key):
        raise BadRequest(f"Invalid property name {str(key)[:64]!r}.")
    properties = target.properties
    if value is None:
        properties.pop(key, None)
        return
    if not isinstance(value, str) or len(value) > MAX_PROPERTY_VALUE:
        raise BadRequest(f"Property '{key}' must be a string of at most 65535 characters.")
    if key in _UUID_PROPS and value and not is_uuid(value):
        raise BadRequest(f"Property '{key}' must be the UUID of an image.")
    if key not in properties and len(properties) >= MAX_PROPERTIES:
        raise Forbidden(f"Maximum number of properties ({MAX_PROPERTIES}) exceeded.")
    properties[key] = value


def remove_attribute(img: Image, key: str) -> None:
    if key in READ_ONLY or key in RESERVED or key in WRITABLE or key == "id":
        raise Forbidden(f"Attribute '{key}' cannot be removed.")
    if key not in img.properties:
        raise BadRequest(f"Property '{key}' does not exist.")
    del img.properties[key]


def _check_core(key: str, value: Any, admin: bool) -> Any:
    if key == "name":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise BadRequest("name must be a string of at most 255 characters.")
        return value
    if key == "visibility":
        if value not in VISIBILITIES:
            raise BadRequest(f"Invalid visibility {str(value)[:20]!r}: private or public.")
        if value == "public" and not admin:
            raise Forbidden("Only the cloud administrator may make an image public.")
        return value
    if key in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise BadRequest(f"{key} must be a boolean.")
        return value
    if key == "tags":
        return check_tags(value)
    if key == "disk_format":
        if value is not None and value not in DISK_FORMATS:
            raise BadRequest(f"Invalid disk_format: one of {', '.join(DISK_FORMATS)}.")
        return value
    if key == "container_format":
        if value is not None and value not in CONTAINER_FORMATS:
            raise BadRequest(f"Invalid container_format: one of {', '.join(CONTAINER_FORMATS)}.")
        return value
    # min_disk, min_ram
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1 << 31:
        raise BadRequest(f"{key} must be a non-negative integer.")
    return value


def check_tags(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise BadRequest(f"tags must be a list of at most {MAX_TAGS} strings.")
    out: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not 0 < len(tag) <= 255:
            raise BadRequest("Each tag must be a string of 1 to 255 characters.")
        if tag not in out:
            out.append(tag)
    return out


def check_formats(img: Image | ImageCreate) -> None:
    """Glance's rule: an aki/ari image has the same disk and container format."""
    kinds = {"aki", "ari"}
    if (img.disk_format in kinds or img.container_format in kinds) and (
        img.disk_format != img.container_format
    ):
        raise BadRequest(
            "Invalid mix of disk and container formats: for 'aki' or 'ari' "
            "the container and disk formats must match."
        )


def ready_for_upload(img: Image) -> None:
    if img.disk_format is None or img.container_format is None:
        raise BadRequest("Set disk_format and container_format before uploading data.")
