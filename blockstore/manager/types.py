"""Volume types (extra specs: thin/thick, multiattach) and QoS specs (IOPS and byte limits).

Types and QoS specs are global, as in Cinder; the admin of project
``admin`` manages them, every project reads public types. ``__DEFAULT__``
(thin, single attach) exists from the first start and cannot be deleted.
A QoS spec reaches the target through the volume's type; changing one
re-exports the in-use volumes it governs, so a new limit applies at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blockstore.manager import validate
from blockstore.manager.context import Context
from blockstore.manager.core import DEFAULT_TYPE, Caller, must_be_cloud_admin
from blockstore.manager.errors import BadRequest, Conflict, NotFound
from blockstore.manager.records import QosSpec, Volume, VolumeType, spec_true
from blockstore.manager.store import Txn

if TYPE_CHECKING:
    from blockstore.manager.exports import Exports

QOS_KEYS = (
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
)
QOS_CONSUMERS = ("back-end", "front-end", "both")


def check_extra_specs(specs: Any) -> dict[str, str]:
    specs = validate.metadata(specs, "extra_specs")
    prov = specs.get("provisioning:type")
    if prov is not None and prov.lower() not in ("thin", "thick"):
        raise BadRequest("Invalid input received: provisioning:type must be thin or thick.")
    multi = specs.get("multiattach")
    if multi is not None and not (
        spec_true(multi) or multi.strip().lower() in ("<is> false", "false")
    ):
        raise BadRequest("Invalid input received: multiattach must be '<is> True' or '<is> False'.")
    cache = specs.get("write_cache")
    if cache is not None and not (
        spec_true(cache) or cache.strip().lower() in ("<is> false", "false")
    ):
        raise BadRequest("Invalid input received: write_cache must be '<is> True' or '<is> False'.")
    return specs


def check_qos_specs(specs: Any) -> dict[str, str]:
    specs = validate.metadata(specs, "qos specs")
    for key in QOS_KEYS:
        if key in specs:
            value = specs[key].strip()
            if not value.isdigit():
                raise BadRequest(f"Invalid input received: {key} must be a whole number >= 0.")
            specs[key] = str(int(value))
    return specs


def qos_limits(spec: QosSpec | None) -> tuple[tuple[str, int], ...]:
    """The limits the target enforces (only back-end / both consumers; 0 means none)."""
    if spec is None or spec.consumer not in ("back-end", "both"):
        return ()
    return tuple((k, int(spec.specs[k])) for k in QOS_KEYS if int(spec.specs.get(k, "0") or 0))


def volume_type(txn: Txn, type_id: str) -> VolumeType | None:
    return txn.get(VolumeType, "", type_id) if type_id else None


def write_cache_for(t: Txn, volume: Volume) -> bool:
    """Whether the volume's LUN advertises a volatile write cache (its type decides)."""
    vt = volume_type(t, volume.volume_type_id)
    return True if vt is None else vt.write_cache


def qos_for(t: Txn, volume: Volume) -> tuple[tuple[str, int], ...]:
    vt = volume_type(t, volume.volume_type_id)
    if vt is None or vt.qos_specs_id is None:
        return ()
    return qos_limits(t.get(QosSpec, "", vt.qos_specs_id))


class VolumeTypes:
    """Volume types and QoS specs; a change re-exports the in-use volumes it governs."""

    def __init__(self, ctx: Context, exports: Exports) -> None:
        self.ctx = ctx
        self.exports = exports

    # -- types ---------------------------------------------------------------------

    def ensure_default_type(self) -> VolumeType:
        def txn(t: Txn) -> VolumeType:
            found = self._type_by_name(t, DEFAULT_TYPE)
            if found is None:
                found = VolumeType(name=DEFAULT_TYPE, description="Default Volume Type")
                t.put(found)
            return found

        return self.ctx.store.write_now(txn)

    @staticmethod
    def _type_by_name(t: Txn, name: str) -> VolumeType | None:
        return next((vt for vt in t.scan(VolumeType) if vt.name == name), None)

    def resolve_type(self, t: Txn, caller: Caller, ref: str | None) -> VolumeType:
        """A type by id or name (None: the default), visible to ``caller``."""
        if ref is None or ref == "":
            found = self._type_by_name(t, DEFAULT_TYPE)
        elif not isinstance(ref, str):
            raise BadRequest("Invalid input received: volume_type must be a string.")
        else:
            found = t.get(VolumeType, "", ref) if validate.lookup_id(ref) else None
            found = found or self._type_by_name(t, ref)
        if found is None or not (found.is_public or caller.is_cloud_admin):
            raise NotFound(f"Volume type {str(ref)[:80]} could not be found.")
        return found

    def list_types(self, caller: Caller) -> list[VolumeType]:
        types = self.ctx.store.scan(VolumeType)
        return sorted(
            (vt for vt in types if vt.is_public or caller.is_cloud_admin), key=lambda v: v.name
        )

    def name_of(self, type_id: str) -> str | None:
        """The name of the type with this id (None: no such type), for views."""
        vt = self.ctx.store.get(VolumeType, "", type_id)
        return vt.name if vt else None

    def get_type(self, caller: Caller, ref: str) -> VolumeType:
        return self.ctx.store.read(lambda t: self.resolve_type(t, caller, ref))

    async def create_type(
        self,
        caller: Caller,
        name: Any,
        *,
        description: Any = None,
        extra_specs: Any = None,
        is_public: Any = True,
    ) -> VolumeType:
        must_be_cloud_admin(caller)
        name = validate.text(name, "name").strip()
        if not name:
            raise BadRequest("Invalid input received: a volume type needs a name.")
        vt = VolumeType(
            name=name,
            description=validate.text(description, "description", validate.MAX_DESCRIPTION),
            extra_specs=check_extra_specs(extra_specs),
            is_public=validate.boolean(is_public, "is_public"),
        )

        def txn(t: Txn) -> VolumeType:
            if self._type_by_name(t, name) is not None:
                raise Conflict(f"Volume Type {name} already exists.")
            t.put(vt)
            return vt

        return await self.ctx.store.write(txn)

    async def update_type(self, caller: Caller, ref: str, changes: dict[str, Any]) -> VolumeType:
        must_be_cloud_admin(caller)

        def txn(t: Txn) -> VolumeType:
            vt = self.resolve_type(t, caller, ref)
            if "name" in changes and changes["name"] is not None:
                name = validate.text(changes["name"], "name").strip()
                other = self._type_by_name(t, name)
                if not name or (other is not None and other.id != vt.id):
                    raise Conflict(f"Volume Type {name} already exists.")
                if vt.name == DEFAULT_TYPE and name != DEFAULT_TYPE:
                    raise BadRequest("The default volume type cannot be renamed.")
                vt.name = name
            if "description" in changes:
                vt.description = validate.text(
                    changes["description"], "description", validate.MAX_DESCRIPTION
                )
            if "is_public" in changes:
                vt.is_public = validate.boolean(changes["is_public"], "is_public")
            if "extra_specs" in changes:
                vt.extra_specs = {**vt.extra_specs, **check_extra_specs(changes["extra_specs"])}
            t.put(vt)
            return vt

        vt = await self.ctx.store.write(txn)
        self.exports.refresh_exports(type_ids={vt.id})
        return vt

    async def delete_extra_spec(self, caller: Caller, ref: str, key: str) -> None:
        must_be_cloud_admin(caller)

        def txn(t: Txn) -> None:
            vt = self.resolve_type(t, caller, ref)
            if key not in vt.extra_specs:
                raise NotFound(f"Volume Type {vt.id} has no extra specs with key {key[:80]}.")
            del vt.extra_specs[key]
            t.put(vt)

        await self.ctx.store.write(txn)

    async def delete_type(self, caller: Caller, ref: str) -> None:
        must_be_cloud_admin(caller)

        def txn(t: Txn) -> None:
            vt = self.resolve_type(t, caller, ref)
            if vt.name == DEFAULT_TYPE:
                raise BadRequest("The default volume type cannot be deleted.")
            if any(v.volume_type_id == vt.id for v in t.scan(Volume)):
                raise BadRequest(f"Target volume type {vt.id} is still in use.")
            t.delete(vt)

        await self.ctx.store.write(txn)

    # -- QoS specs -----------------------------------------------------------------

    def list_qos(self, caller: Caller) -> list[QosSpec]:
        must_be_cloud_admin(caller)
        return sorted(self.ctx.store.scan(QosSpec), key=lambda q: q.name)

    def _qos(self, t: Txn, ref: str) -> QosSpec:
        found = t.get(QosSpec, "", ref) if validate.lookup_id(ref) else None
        if found is None:
            raise NotFound(f"QoS specs {ref[:80]} could not be found.")
        return found

    def get_qos(self, caller: Caller, ref: str) -> QosSpec:
        must_be_cloud_admin(caller)
        return self.ctx.store.read(lambda t: self._qos(t, ref))

    async def create_qos(self, caller: Caller, name: Any, consumer: Any, specs: Any) -> QosSpec:
        must_be_cloud_admin(caller)
        name = validate.text(name, "name").strip()
        if not name:
            raise BadRequest("Invalid input received: QoS specs need a name.")
        consumer = consumer or "back-end"
        if consumer not in QOS_CONSUMERS:
            raise BadRequest(f"Invalid input received: consumer must be one of {QOS_CONSUMERS}.")
        qos = QosSpec(name=name, consumer=consumer, specs=check_qos_specs(specs))

        def txn(t: Txn) -> QosSpec:
            if any(q.name == name for q in t.scan(QosSpec)):
                raise Conflict(f"QoS Specs {name} already exists.")
            t.put(qos)
            return qos

        return await self.ctx.store.write(txn)

    async def update_qos(self, caller: Caller, ref: str, specs: Any) -> QosSpec:
        must_be_cloud_admin(caller)
        specs = dict(specs or {}) if isinstance(specs, dict) else specs
        consumer = specs.pop("consumer", None) if isinstance(specs, dict) else None
        checked = check_qos_specs(specs)
        if consumer is not None and consumer not in QOS_CONSUMERS:
            raise BadRequest(f"Invalid input received: consumer must be one of {QOS_CONSUMERS}.")

        def txn(t: Txn) -> QosSpec:
            qos = self._qos(t, ref)
            qos.specs = {**qos.specs, **checked}
            if consumer is not None:
                qos.consumer = consumer
            t.put(qos)
            return qos

        qos = await self.ctx.store.write(txn)
        self.exports.refresh_exports(qos_id=qos.id)
        return qos

    async def unset_qos_keys(self, caller: Caller, ref: str, keys: Any) -> QosSpec:
        """Cinder's ``PUT /qos-specs/{id}/delete_keys``: every key must exist (else 404)."""
        must_be_cloud_admin(caller)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise BadRequest("Invalid input received: 'keys' must be a list of strings.")

        def txn(t: Txn) -> QosSpec:
            qos = self._qos(t, ref)
            missing = [k for k in keys if k not in qos.specs]
            if missing:
                raise NotFound(f"QoS spec {missing[0][:80]} is not found in QoS Specs {qos.id}.")
            qos.specs = {k: v for k, v in qos.specs.items() if k not in keys}
            t.put(qos)
            return qos

        qos = await self.ctx.store.write(txn)
        self.exports.refresh_exports(qos_id=qos.id)
        return qos

    async def delete_qos(self, caller: Caller, ref: str, *, force: bool = False) -> None:
        must_be_cloud_admin(caller)

        def txn(t: Txn) -> set[str]:
            qos = self._qos(t, ref)
            users = [vt for vt in t.scan(VolumeType) if vt.qos_specs_id == qos.id]
            if users and not force:
                raise BadRequest(f"QoS Specs {qos.id} is still associated with entities.")
            for vt in users:
                vt.qos_specs_id = None
                t.put(vt)
            t.delete(qos)
            return {vt.id for vt in users}

        self.exports.refresh_exports(type_ids=await self.ctx.store.write(txn))

    async def associate_qos(
        self, caller: Caller, ref: str, type_ref: str, *, associate: bool = True
    ) -> None:
        must_be_cloud_admin(caller)

        def txn(t: Txn) -> str:
            qos = self._qos(t, ref)
            vt = self.resolve_type(t, caller, type_ref)
            if associate:
                if vt.qos_specs_id not in (None, qos.id):
                    raise BadRequest(f"Type {vt.id} is already associated with another qos specs.")
                vt.qos_specs_id = qos.id
            elif vt.qos_specs_id == qos.id:
                vt.qos_specs_id = None
            t.put(vt)
            return vt.id

        self.exports.refresh_exports(type_ids={await self.ctx.store.write(txn)})

    def qos_associations(self, caller: Caller, ref: str) -> list[VolumeType]:
        must_be_cloud_admin(caller)

        def txn(t: Txn) -> list[VolumeType]:
            qos = self._qos(t, ref)
            return [vt for vt in t.scan(VolumeType) if vt.qos_specs_id == qos.id]

        return self.ctx.store.read(txn)
