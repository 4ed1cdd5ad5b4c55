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
from blockstore.manager.placement import backend_of
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

        down = self._down_hosts()

        def txn(t: Txn) -> None:
            self._reconcile_attachments(t, exported, out, down)
            vols = t.scan(Volume)
            for vol in vols:
                if backend_of(vol.host) not in down:
                    self._reconcile_volume(t, vol, out, later)
            on_down = {v.id for v in vols if backend_of(v.host) in down}
            for snap in t.scan(Snapshot):
                if snap.volume_id not in on_down:
                    self._reconcile_snapshot(t, snap, out, later)
            for hook in self.hooks:
                later.extend(hook(t, out))

        await self.ctx.store.write(txn)
        for coro in later:
            self.ctx.spawn(coro, "resume after restart")
        await self._reexport(exported, out, down)
        for name in down:
            await self.backend_down(name)
        if out.changed or out.resumed or out.exported:
            log.info("reconciled after start: %s", out)
        return out

    def _down_hosts(self) -> set[str]:
        pool = self.ctx.pool
        if pool is None:
            return set()
        self._bind_all()  # every record routes to its backend from now on
        known = {b.name: b.up for b in pool.backends()}
        named = self.ctx.store.read(lambda t: {backend_of(v.host) for v in t.scan(Volume)})
        # A backend no longer configured counts as down: its volumes wait, in error.
        return {n for n in named | set(known) if n and not known.get(n, False)}

    def _bind_all(self) -> None:
        pool = self.ctx.pool
        assert pool is not None

        def read(t: Txn) -> list[tuple[str, str]]:
            vols = {v.id: v.host for v in t.scan(Volume)}
            snaps = [(s.id, vols.get(s.volume_id, "")) for s in t.scan(Snapshot)]
            return [*vols.items(), *snaps]

        for ident, host in self.ctx.store.read(read):
            pool.bind(ident, host)

    # -- a backend process that stops answering, and comes back ---------------------------

    async def backend_down(self, name: str) -> list[str]:
        """Its volumes become ``error`` (their status kept to restore); nothing else moves."""

        def txn(t: Txn) -> list[str]:
            changed = []
            for vol in t.scan(Volume):
                if backend_of(vol.host) != name or vol.down_status is not None:
                    continue
                vol.down_status, vol.status = vol.status, states.ERROR
                vol.fail_reason = f"backend {vol.host} is down"
                t.put(vol)
                changed.append(vol.id)
            return changed

        changed = await self.ctx.store.write(txn)
        if changed:
            log.warning("backend %s is down: %d volume(s) in error", name, len(changed))
        return changed

    async def backend_up(self, name: str) -> Reconciled:
        """Reconcile the backend's volumes as a restart would, then export them again."""
        driver = self.ctx.driver
        exported = set(await driver.list_exports()) if driver is not None else set()
        out = Reconciled()
        later: list[Coroutine[Any, Any, Any]] = []

        def txn(t: Txn) -> None:
            for vol in t.scan(Volume):
                if backend_of(vol.host) != name or vol.down_status is None:
                    continue
                vol.status, vol.down_status, vol.fail_reason = vol.down_status, None, None
                t.put(vol)
                out.changed[vol.id] = vol.status
                self._reconcile_volume(t, vol, out, later)

        await self.ctx.store.write(txn)
        for coro in later:
            self.ctx.spawn(coro, "resume after a backend's return")
        vols = self.ctx.store.read(
            lambda t: [
                v for v in t.scan(Volume) if backend_of(v.host) == name and is_exported(t, v)
            ]
        )
        await self._sync_exports(vols, out)
        log.info("backend %s is back: %s (exports before: %d)", name, out, len(exported))
        return out

    def _reconcile_attachments(
        self, t: Txn, exported: set[str], out: Reconciled, down: set[str]
    ) -> None:
        hosts = {v.id: backend_of(v.host) for v in t.scan(Volume)} if down else {}
        for att in t.scan(Attachment):
            if hosts.get(att.volume_id, "") in down:
                continue  # its backend's exports are unknown until it answers
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
        elif status == states.MAINTENANCE:  # a migration's copy: the volume stays put
            vol.status, vol.migration_status = vol.previous_status or states.AVAILABLE, "error"
            vol.fail_reason = RESTART
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

    async def _reexport(self, exported: set[str], out: Reconciled, down: set[str]) -> None:
        driver = self.ctx.driver
        if driver is None:
            return
        vols = self.ctx.store.read(
            lambda t: [
                v for v in t.scan(Volume) if backend_of(v.host) not in down and is_exported(t, v)
            ]
        )
        keep = {self.ctx.target_iqn(v.id) for v in vols}
        for iqn in exported - keep:
            if iqn.startswith(self.ctx.settings.iqn_prefix + ":volume-"):
                await driver.remove_export(iqn)
        await self._sync_exports(vols, out)

    async def _sync_exports(self, vols: list[Volume], out: Reconciled) -> None:
        for vol in vols:
            try:
                async with self.ctx.lock(vol.id):
                    await self.exports.sync_export(vol)
                out.exported.append(vol.id)
            except Exception:
                log.exception("re-exporting volume %s failed", vol.id)
