"""Start-up: resolve what a stop or crash left in a transient state, then re-export.

One write transaction settles every record whose outcome the disk already
tells (a final file exists or not; a file has the new size or not); work
that must finish (deletes) is resumed in the background; attachments that
never got an export are dropped, so their volumes become available again;
every volume with attached initiators is exported again (``ensure_export``)
before the service answers its first request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from blockstore.manager import states
from blockstore.manager.context import Context
from blockstore.manager.core import GiB
from blockstore.manager.exports import Exports, is_exported
from blockstore.manager.records import Attachment, Snapshot, Volume
from blockstore.manager.snapshots import Snapshots
from blockstore.manager.store import Txn
from blockstore.manager.table import attachments_of
from blockstore.manager.types import VolumeTypes
from blockstore.manager.volumes import Volumes

log = logging.getLogger("blockstore.manager")
RESTART = "interrupted by a restart of the volume service"


@dataclass
class Reconciled:
    """What start-up changed (for the log and for tests)."""

    changed: dict[str, str] = field(default_factory=dict)  # record id -> new status
    resumed: list[str] = field(default_factory=list)  # ids whose operation continues
    exported: list[str] = field(default_factory=list)  # volume ids exported again


# Another service's records settled in the same transaction (backups): what it changed
# goes into the Reconciled it is given; it returns the work to resume.
ReconcileHook = Callable[[Txn, Reconciled], list[Coroutine[Any, Any, Any]]]


class Reconciler:
    """Start-up over the other services' records (``hooks``: services outside the
    manager package, such as backups, settling their own)."""

    def __init__(
        self,
        ctx: Context,
        types: VolumeTypes,
        volumes: Volumes,
        snapshots: Snapshots,
        exports: Exports,
        hooks: Sequence[ReconcileHook] = (),
    ) -> None:
        self.ctx = ctx
        self.types = types
        self.volumes = volumes
        self.snapshots = snapshots
        self.exports = exports
        self.hooks = tuple(hooks)

    async def start(self) -> Reconciled:
        """Prepare the store and the backend, reconcile, re-export. Call once, first."""
        self.types.ensure_default_type()
        await self.ctx.io(self.ctx.backend.clean_tmp)
        return await self.reconcile()

    async def reconcile(self) -> Reconciled:
        driver = self.ctx.driver
        exported = set(await driver.list_exports()) if driver is not None else set()
        out = Reconciled()
        later: list[Coroutine[Any, Any, Any]] = []

        def txn(t: Txn) -> None:
            self._reconcile_attachments(t, exported, out)
            for vol in t.scan(Volume):
                self._reconcile_volume(t, vol, out, later)
            for snap in t.scan(Snapshot):
                self._reconcile_snapshot(t, snap, out, later)
            for hook in self.hooks:
                later.extend(hook(t, out))

        await self.ctx.store.write(txn)
        for coro in later:
            self.ctx.spawn(coro, "resume after restart")
        await self._reexport(exported, out)
        if out.changed or out.resumed or out.exported:
            log.info("reconciled after start: %s", out)
        return out

    def _reconcile_attachments(self, t: Txn, exported: set[str], out: Reconciled) -> None:
        for att in t.scan(Attachment):
            iqn = self.ctx.target_iqn(att.volume_id)
            keep = att.status == states.ATT_ATTACHED or (
                att.status == states.ATT_ATTACHING and iqn in exported
            )
            if not keep:
                t.delete(att)
                out.changed[att.id] = "deleted"

    def _reconcile_volume(
        self, t: Txn, vol: Volume, out: Reconciled, later: list[Coroutine[Any, Any, Any]]
    ) -> None:
        status = vol.status
        if status == states.CREATING:
            done = self.ctx.backend.volume_size(vol.id) is not None
            vol.status = states.AVAILABLE if done else states.ERROR
            vol.fail_reason = None if done else RESTART
        elif status == states.DELETING:
            out.resumed.append(vol.id)
            later.append(self.volumes.finish_delete(vol))
            return
        elif status == states.EXTENDING:
            have = self.ctx.backend.volume_size(vol.id) or 0
            if vol.extend_to and have >= vol.extend_to * GiB:
                vol.size = vol.extend_to
            vol.extend_to = None
            vol.status = self._settled(t, vol)
        elif status == states.RESTORING:
            vol.status, vol.fail_reason = states.ERROR_RESTORING, RESTART
        elif status in (states.ATTACHING, states.DETACHING, states.IN_USE, states.BACKING_UP):
            vol.status = self._settled(t, vol)
        if vol.status != status:
            vol.previous_status = None
            t.put(vol)
            out.changed[vol.id] = vol.status

    def _settled(self, t: Txn, vol: Volume) -> str:
        return states.settled_volume_status([a.status for a in attachments_of(t, vol)])

    def _reconcile_snapshot(
        self, t: Txn, snap: Snapshot, out: Reconciled, later: list[Coroutine[Any, Any, Any]]
    ) -> None:
        if snap.status == states.SNAP_CREATING:
            done = self.ctx.backend.snapshot_exists(snap.id)
            snap.status = states.SNAP_AVAILABLE if done else states.SNAP_ERROR
            snap.fail_reason = None if done else RESTART
            t.put(snap)
            out.changed[snap.id] = snap.status
        elif snap.status == states.SNAP_DELETING:
            out.resumed.append(snap.id)
            later.append(self.snapshots.finish_snapshot_delete(snap))

    async def _reexport(self, exported: set[str], out: Reconciled) -> None:
        driver = self.ctx.driver
        if driver is None:
            return
        vols = self.ctx.store.read(lambda t: [v for v in t.scan(Volume) if is_exported(t, v)])
        keep = {self.ctx.target_iqn(v.id) for v in vols}
        for iqn in exported - keep:
            if iqn.startswith(self.ctx.settings.iqn_prefix + ":volume-"):
                await driver.remove_export(iqn)
        for vol in vols:
            try:
                async with self.ctx.lock(vol.id):
                    await self.exports.sync_export(vol)
                out.exported.append(vol.id)
            except Exception:
                log.exception("re-exporting volume %s failed", vol.id)
