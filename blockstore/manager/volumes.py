"""Volume operations: create (blank, from a snapshot, a volume or an image), show, list,
update, metadata, extend, delete, and the admin's status reset.

Each operation checks and records its first transition in one durable
transaction, answers, and finishes in a background task whose end is the
next durable transition (creating -> available | error, extending ->
previous status, deleting -> gone).
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Protocol

from blockstore.backend import BackendStats
from blockstore.manager import placement, quotas, states, validate
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, GiB, must_be_cloud_admin, must_write
from blockstore.manager.errors import BadRequest, Conflict
from blockstore.manager.exports import Exports
from blockstore.manager.records import Attachment, Backup, Snapshot, Volume, VolumeType
from blockstore.manager.store import Txn
from blockstore.manager.table import DESCRIBED_V1, Table, attachments_of, must_get
from blockstore.manager.types import VolumeTypes, volume_type

log = logging.getLogger("blockstore.manager")


class ImageSource(Protocol):
    """Where a volume created with ``imageRef`` gets its bytes (``blockstore.backup.images``)."""

    def check_image_ref(self, ref: Any) -> str:
        """The reference, checked before anything is recorded (BadRequest if unusable)."""
        ...

    async def fill_from_image(self, vol: Volume) -> None:
        """Write the image into the new volume's file."""
        ...


def schedule(
    ctx: Context,
    t: Txn,
    vol: Volume,
    vtype: VolumeType,
    stats: BackendStats | None,
    same_as: str | None = None,
) -> None:
    """Give a new volume its ``host``: this process's backend once its capacity (``stats``)
    is checked, or with a pool the scheduler's choice, else Cinder's NoValidBackend (the
    volume is ``error``)."""
    if ctx.pool is None:
        assert stats is not None
        quotas.check_capacity(t, stats, ctx.settings.capacity, vol.size, thick=vol.thick)
        vol.host = ctx.host
        return
    rules = ctx.settings.capacity
    chosen = placement.choose(
        t, ctx.pool.backends(), vtype, vol.size, rules, thick=vol.thick, same_as=same_as
    )
    if chosen is not None:
        vol.host = chosen.host
        return
    wanted = vtype.extra_specs.get("volume_backend_name")
    why = f" (volume_backend_name={wanted})" if wanted else ""
    if same_as:
        why += f" (the source is on {same_as})"
    vol.status = states.ERROR
    vol.fail_reason = f"{placement.NO_VALID_BACKEND} No backend fits {vol.size}G{why}."


class Volumes:
    """Volumes themselves. ``types`` resolves and checks their types, ``exports``
    holds and resizes exported LUNs, ``images`` fills volumes created from images."""

    def __init__(
        self, ctx: Context, types: VolumeTypes, exports: Exports, images: ImageSource
    ) -> None:
        self.ctx = ctx
        self.types = types
        self.exports = exports
        self.images = images
        self.table = Table(ctx, Volume, "Volume", DESCRIBED_V1)

    # -- create --------------------------------------------------------------------

    async def create_volume(
        self,
        caller: Caller,
        *,
        size: int | None = None,
        name: str | None = None,
        description: str | None = None,
        volume_type: str | None = None,
        snapshot_id: str | None = None,
        source_volid: str | None = None,
        image_ref: str | None = None,
        metadata: dict[str, str] | None = None,
        multiattach: bool | None = None,
    ) -> Volume:
        """The API parses the values (``blockstore.api.requests``); they are checked again
        here, with the same checks, for direct callers."""
        must_write(caller)
        validate.one_source(snapshot_id, source_volid, image_ref)
        given_size = None
        if size is not None or not (snapshot_id or source_volid):
            given_size = validate.size_gb(size, maximum=self.ctx.settings.max_volume_gb)
        name = validate.text(name, "name")
        description = validate.text(description, "description", validate.MAX_DESCRIPTION)
        metadata = validate.metadata(metadata)
        if image_ref is not None:
            image_ref = self.images.check_image_ref(image_ref)
        wants_multi = None if multiattach is None else validate.boolean(multiattach, "multiattach")
        stats = await self.ctx.io(self.ctx.backend.stats) if self.ctx.pool is None else None

        def txn(t: Txn) -> Volume:
            vtype = self.types.resolve_type(t, caller, volume_type)
            if volume_type is None:
                # As Cinder: a copy of a volume (or of its snapshot) keeps the source's type.
                vtype = self._source_type(t, caller, snapshot_id, source_volid) or vtype
            vol = Volume(
                project=caller.project,
                user=caller.user,
                name=name,
                description=description,
                volume_type_id=vtype.id,
                metadata=metadata,
                thick=vtype.thick,
                multiattach=vtype.multiattach if wants_multi is None else wants_multi,
                image_ref=image_ref,
                bootable=image_ref is not None,
            )
            base, same_as = 0, None
            if snapshot_id is not None:
                snap = must_get(t, Snapshot, caller, str(snapshot_id), "Snapshot")
                states.require("snapshot", snap.id, snap.status, frozenset({"available"}))
                vol.snapshot_id, base = snap.id, snap.size
                vol.bootable = self._source_bootable(t, caller, snap.volume_id)
                parent = t.get(Volume, caller.project, snap.volume_id)
                same_as = parent.host if parent else None
            if source_volid is not None:
                src = must_get(t, Volume, caller, str(source_volid), "Volume")
                states.require("source volume", src.id, src.status, states.CAN_CLONE)
                vol.source_volid, base, vol.bootable = src.id, src.size, src.bootable
                same_as = src.host
            vol.size = given_size or base
            if vol.size < base:
                raise BadRequest(
                    f"Invalid input received: volume size {vol.size}G is smaller than "
                    f"its source ({base}G)."
                )
            quotas.check(
                t,
                caller.project,
                self.ctx.settings.quota_defaults,
                {"volumes": 1, "gigabytes": vol.size},
            )
            schedule(self.ctx, t, vol, vtype, stats, same_as)
            t.put(vol)
            return vol

        vol = await self.ctx.store.write(txn)
        if vol.status == states.ERROR:
            log.warning("volume %s not placed: %s", vol.id, vol.fail_reason)
            return vol
        if self.ctx.pool is not None:
            self.ctx.pool.bind(vol.id, vol.host)
        log.info("volume %s (%dG) creating on %s", vol.id, vol.size, vol.host)
        self.ctx.spawn(self._finish_create(vol), f"create volume {vol.id}")
        return vol

    def _source_type(
        self, t: Txn, caller: Caller, snapshot_id: str | None, source_volid: str | None
    ) -> VolumeType | None:
        volume_id = str(source_volid) if source_volid is not None else None
        if snapshot_id is not None and validate.lookup_id(str(snapshot_id)):
            snap = t.get(Snapshot, caller.project, str(snapshot_id))
            volume_id = snap.volume_id if snap else None
        if volume_id is None or not validate.lookup_id(volume_id):
            return None
        src = t.get(Volume, caller.project, volume_id)
        return volume_type(t, src.volume_type_id) if src else None

    def _source_bootable(self, t: Txn, caller: Caller, volume_id: str) -> bool:
        src = t.get(Volume, caller.project, volume_id)
        return bool(src and src.bootable)

    async def _finish_create(self, vol: Volume) -> None:
        try:
            size = vol.size * GiB
            if vol.snapshot_id:
                path = self.ctx.backend.snapshot_path(vol.snapshot_id)
                await self.ctx.io(self._clone, path, vol.id, size, vol.thick)
            elif vol.source_volid:
                async with self.exports.quiesced(vol.source_volid):
                    path = self.ctx.backend.volume_path(vol.source_volid)
                    await self.ctx.io(self._clone, path, vol.id, size, vol.thick)
            elif vol.image_ref:
                await self.images.fill_from_image(vol)
            else:
                await self.ctx.io(self.ctx.backend.create_volume, vol.id, size, vol.thick)
        except Exception as exc:
            log.exception("creating volume %s failed", vol.id)
            await self.ctx.io(self.ctx.backend.discard_partial_volume, vol.id)
            await self.set_volume_status(vol, states.ERROR, states.CREATING, reason=str(exc))
            return
        await self.set_volume_status(vol, states.AVAILABLE, states.CREATING)

    def _clone(self, source: Any, volume_id: str, size: int, thick: bool) -> None:
        method = self.ctx.backend.clone_volume(source, volume_id, size, thick=thick)
        log.info("volume %s cloned by %s", volume_id, method)

    async def set_volume_status(
        self, vol: Volume, status: str, expected: str, *, reason: str | None = None
    ) -> Volume | None:
        """Move ``vol`` to ``status`` if it is still in ``expected`` (durable)."""
        return await self.table.transition(
            vol, expected, status, fail_reason=reason, previous_status=None
        )

    # -- read ----------------------------------------------------------------------

    def get_volume(self, caller: Caller, volume_id: str) -> Volume:
        return self.table.get(caller, volume_id)

    def volume_attachments(self, caller: Caller, volume: Volume) -> list[Attachment]:
        return self.ctx.store.read(lambda t: attachments_of(t, volume))

    def list_volumes(self, caller: Caller, **query: Any) -> tuple[list[Volume], bool]:
        """Filters, limit, marker, sort (see :meth:`Table.page`)."""
        return self.table.page(caller, **query)

    # -- update --------------------------------------------------------------------

    async def update_volume(
        self, caller: Caller, volume_id: str, changes: dict[str, Any]
    ) -> Volume:
        return await self.table.update(caller, volume_id, changes)

    async def set_volume_metadata(
        self, caller: Caller, volume_id: str, items: Any, *, replace: bool = False
    ) -> dict[str, str]:
        return await self.table.set_metadata(caller, volume_id, items, replace=replace)

    async def delete_volume_metadata(self, caller: Caller, volume_id: str, key: str) -> None:
        await self.table.delete_metadata(caller, volume_id, key)

    async def set_volume_flag(
        self, caller: Caller, volume_id: str, flag: str, value: bool
    ) -> Volume:
        """os-update_readonly_flag / os-set_bootable."""
        must_write(caller)
        value = validate.boolean(value, flag)

        def txn(t: Txn) -> Volume:
            vol = self.table.must_get(t, caller, volume_id)
            if flag == "readonly":
                states.require("volume", vol.id, vol.status, frozenset({states.AVAILABLE}))
            setattr(vol, flag, value)
            t.put(vol)
            return vol

        return await self.ctx.store.write(txn)

    async def retype_volume(
        self,
        caller: Caller,
        volume_id: str,
        new_type: str,
        policy: Literal["never", "on-demand"] | None = None,
    ) -> Volume:
        """os-retype in place: QoS, write cache and multiattach follow the new type. A change
        of provisioning (thin/thick) would need a migration, which this service does not do:
        refused whatever the policy, as Cinder refuses one under ``never``."""
        must_write(caller)
        new_type, policy = validate.retype_args(new_type, policy)

        def txn(t: Txn) -> Volume:
            vol = self.table.must_get(t, caller, volume_id)
            states.require("volume", vol.id, vol.status, CAN_RETYPE)
            vt = self.types.resolve_type(t, caller, new_type)
            if vt.id == vol.volume_type_id:
                raise BadRequest(
                    f"Invalid input received: volume {vol.id} already has type {vt.name}."
                )
            if vt.thick != vol.thick:
                raise BadRequest(
                    f"Invalid volume type {vt.name}: its provisioning differs, which would need "
                    "a migration; volume migration is not supported."
                )
            if not vt.multiattach and len(attachments_of(t, vol)) > 1:
                raise BadRequest(
                    f"Invalid volume type {vt.name}: the volume has several attachments."
                )
            vol.volume_type_id, vol.multiattach = vt.id, vt.multiattach
            t.put(vol)
            return vol

        vol = await self.ctx.store.write(txn)
        self.exports.refresh_exports(type_ids={vol.volume_type_id})
        return vol

    async def reset_status(self, caller: Caller, volume_id: str, status: Any) -> Volume:
        """os-reset_status: the operator's way out of a stuck state."""
        must_be_cloud_admin(caller)
        if status not in states.VOLUME_STATES:
            raise BadRequest(f"Invalid input received: unknown status {str(status)[:40]!r}.")

        def txn(t: Txn) -> Volume:
            vol = self.table.must_get(t, caller, volume_id)
            vol.status, vol.previous_status, vol.extend_to = status, None, None
            t.put(vol)
            return vol

        return await self.ctx.store.write(txn)

    # -- extend --------------------------------------------------------------------

    async def extend_volume(self, caller: Caller, volume_id: str, new_size: int) -> Volume:
        must_write(caller)
        size = validate.size_gb(new_size, "new_size", maximum=self.ctx.settings.max_volume_gb)
        stats = await self.ctx.io(self.ctx.backend.stats)

        def txn(t: Txn) -> Volume:
            vol = self.table.must_get(t, caller, volume_id)
            states.require("volume", vol.id, vol.status, states.CAN_EXTEND)
            if size <= vol.size:
                raise BadRequest(
                    "Invalid input received: New size for extend must be greater than current "
                    f"size. (current: {vol.size}, extended: {size})."
                )
            grow = size - vol.size
            quotas.check(t, caller.project, self.ctx.settings.quota_defaults, {"gigabytes": grow})
            quotas.check_capacity(t, stats, self.ctx.settings.capacity, grow, thick=vol.thick)
            vol.previous_status, vol.status, vol.extend_to = vol.status, states.EXTENDING, size
            t.put(vol)
            return vol

        vol = await self.ctx.store.write(txn)
        self.ctx.spawn(self._finish_extend(vol), f"extend volume {vol.id}")
        return vol

    async def _finish_extend(self, vol: Volume) -> None:
        assert vol.extend_to is not None
        try:
            async with self.ctx.lock(vol.id):
                await self.ctx.io(
                    self.ctx.backend.extend_volume, vol.id, vol.extend_to * GiB, vol.thick
                )
                if vol.previous_status == states.IN_USE:
                    await self.exports.extended(vol.id)
        except Exception as exc:
            log.exception("extending volume %s failed", vol.id)
            await self._end_extend(vol, ok=False, reason=str(exc))
            return
        await self._end_extend(vol, ok=True)

    async def _end_extend(self, vol: Volume, *, ok: bool, reason: str | None = None) -> None:
        def txn(t: Txn) -> None:
            cur = t.get(Volume, vol.project, vol.id)
            if cur is None or cur.status != states.EXTENDING:
                return
            if ok and cur.extend_to:
                cur.size = cur.extend_to
            cur.extend_to, cur.fail_reason = None, reason
            states_now = [a.status for a in attachments_of(t, cur)]
            cur.status = states.settled_volume_status(states_now) if ok else states.ERROR_EXTENDING
            cur.previous_status = None
            t.put(cur)

        await self.ctx.store.write(txn)

    # -- delete --------------------------------------------------------------------

    async def delete_volume(
        self, caller: Caller, volume_id: str, *, cascade: Any = False, force: bool = False
    ) -> None:
        """``force`` (cloud admins, as Cinder's policy): any state but one a task of ours is
        working in; attached volumes are refused either way, as in Cinder."""
        must_write(caller)
        cascade = validate.boolean(cascade, "cascade")
        if force:
            must_be_cloud_admin(caller)

        def txn(t: Txn) -> Volume:
            vol = self.table.must_get(t, caller, volume_id)
            atts = attachments_of(t, vol)
            servers = sorted({a.instance_uuid or "" for a in atts if a.service_owned})
            if servers:
                raise BadRequest(
                    f"Invalid volume {vol.id}: it is attached to instance {', '.join(servers)}; "
                    f"detach it with the Compute API first (stratus server remove-volume "
                    f"{servers[0]} {vol.id})."
                )
            if atts:
                raise BadRequest(
                    f"Invalid volume {vol.id}: it is attached or reserved; detach it first "
                    f"(stratus volume detach {vol.id})."
                )
            allowed = states.CAN_FORCE_DELETE if force else states.CAN_DELETE
            states.require("volume", vol.id, vol.status, allowed)
            snaps = [s for s in t.scan(Snapshot, vol.project) if s.volume_id == vol.id]
            if snaps and not cascade:
                raise BadRequest(
                    f"Invalid volume {vol.id}: it has {len(snaps)} dependent snapshot(s); "
                    "delete them first or use cascade."
                )
            for snap in snaps:
                states.require("snapshot", snap.id, snap.status, states.SNAP_CAN_DELETE)
                snap.status = states.SNAP_DELETING
                t.put(snap)
            busy = [b for b in t.scan(Backup, vol.project) if _busy_with(b, vol.id)]
            if busy:
                raise Conflict(f"Volume {vol.id} is in use by backup {busy[0].id}.")
            vol.status, vol.cascade = states.DELETING, cascade
            t.put(vol)
            return vol

        vol = await self.ctx.store.write(txn)
        self.ctx.spawn(self.finish_delete(vol), f"delete volume {vol.id}")

    async def finish_delete(self, vol: Volume) -> None:
        try:
            await self.exports.remove(vol.id)
            snaps = self.ctx.store.read(
                lambda t: [s for s in t.scan(Snapshot, vol.project) if s.volume_id == vol.id]
            )
            for snap in snaps if vol.cascade else []:
                await self.ctx.io(self.ctx.backend.delete_snapshot, snap.id)
                await self.ctx.store.write(lambda t, s=snap: t.delete(s))
            await self.ctx.io(self.ctx.backend.delete_volume, vol.id)
        except Exception as exc:
            log.exception("deleting volume %s failed", vol.id)
            await self.set_volume_status(
                vol, states.ERROR_DELETING, states.DELETING, reason=str(exc)
            )
            return
        await self.table.forget(vol)
        self.ctx.locks.pop(vol.id, None)
        log.info("volume %s deleted", vol.id)


CAN_RETYPE = frozenset({states.AVAILABLE, states.IN_USE})


def _busy_with(backup: Backup, volume_id: str) -> bool:
    """Whether ``backup`` is reading or writing the volume right now."""
    if backup.restore_volume_id == volume_id:
        return True
    return backup.volume_id == volume_id and backup.status == states.BK_CREATING
