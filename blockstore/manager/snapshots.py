"""Snapshot operations: create (of an available volume, or an in-use one with force),
show, list, update, delete.

A snapshot is a file holding the volume's bytes at one moment: a reflink
where the filesystem allows, a hole-keeping copy elsewhere. For an exported
volume the LUN's writes wait while the copy is taken, so the snapshot is
one point in time.
"""

from __future__ import annotations

import logging
from typing import Any

from blockstore.manager import quotas, states, validate
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, must_write
from blockstore.manager.errors import BadRequest
from blockstore.manager.exports import Exports
from blockstore.manager.records import Snapshot, Volume
from blockstore.manager.store import Txn
from blockstore.manager.table import DESCRIBED_V1, Table, must_get

log = logging.getLogger("blockstore.manager")


class Snapshots:
    """Point-in-time copies of volumes; ``exports`` holds an exported volume's writes
    while its file is copied."""

    def __init__(self, ctx: Context, exports: Exports) -> None:
        self.ctx = ctx
        self.exports = exports
        self.table = Table(ctx, Snapshot, "Snapshot", DESCRIBED_V1)

    async def create_snapshot(
        self,
        caller: Caller,
        volume_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        force: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> Snapshot:
        """Values as ``blockstore.api.requests.SnapshotCreate`` parses them (checked again
        here for direct callers)."""
        must_write(caller)
        if not isinstance(volume_id, str):
            raise BadRequest("Invalid input received: a snapshot needs a volume_id.")
        name = validate.text(name, "name")
        description = validate.text(description, "description", validate.MAX_DESCRIPTION)
        metadata = validate.metadata(metadata)
        force = validate.boolean(force, "force")
        stats = await self.ctx.io(self.ctx.backend.stats)

        def txn(t: Txn) -> Snapshot:
            vol = must_get(t, Volume, caller, volume_id, "Volume")
            allowed = states.CAN_SNAPSHOT_FORCED if force else states.CAN_SNAPSHOT
            states.require("volume", vol.id, vol.status, allowed)
            quotas.check(
                t,
                caller.project,
                self.ctx.settings.quota_defaults,
                {"snapshots": 1, "gigabytes": vol.size},
            )
            quotas.check_capacity(t, stats, self.ctx.settings.capacity, vol.size, thick=False)
            snap = Snapshot(
                project=caller.project,
                user=caller.user,
                volume_id=vol.id,
                name=name,
                description=description,
                size=vol.size,
                metadata=metadata,
            )
            t.put(snap)
            return snap

        snap = await self.ctx.store.write(txn)
        self.ctx.spawn(self._finish_snapshot(snap), f"snapshot {snap.id}")
        return snap

    async def _finish_snapshot(self, snap: Snapshot) -> None:
        try:
            async with self.exports.quiesced(snap.volume_id):
                method = await self.ctx.io(
                    self.ctx.backend.snapshot_volume, snap.volume_id, snap.id
                )
            log.info("snapshot %s of %s taken by %s", snap.id, snap.volume_id, method)
            status, reason = states.SNAP_AVAILABLE, None
        except Exception as exc:
            log.exception("snapshot %s failed", snap.id)
            await self.ctx.io(self.ctx.backend.discard_partial_snapshot, snap.id)
            status, reason = states.SNAP_ERROR, str(exc)
        await self.set_snapshot_status(snap, status, states.SNAP_CREATING, reason=reason)

    async def set_snapshot_status(
        self, snap: Snapshot, status: str, expected: str, *, reason: str | None = None
    ) -> None:
        await self.table.transition(snap, expected, status, fail_reason=reason)

    def get_snapshot(self, caller: Caller, snapshot_id: str) -> Snapshot:
        return self.table.get(caller, snapshot_id)

    def list_snapshots(self, caller: Caller, **query: Any) -> tuple[list[Snapshot], bool]:
        """Filters, limit, marker, sort (see :meth:`Table.page`)."""
        return self.table.page(caller, **query)

    async def update_snapshot(
        self, caller: Caller, snapshot_id: str, changes: dict[str, Any]
    ) -> Snapshot:
        return await self.table.update(caller, snapshot_id, changes)

    async def set_snapshot_metadata(
        self, caller: Caller, snapshot_id: str, items: Any, *, replace: bool = False
    ) -> dict[str, str]:
        """Cinder's snapshot metadata: POST merges, PUT replaces (``openstack volume
        snapshot set/unset --property``)."""
        return await self.table.set_metadata(caller, snapshot_id, items, replace=replace)

    async def delete_snapshot_metadata(self, caller: Caller, snapshot_id: str, key: str) -> None:
        await self.table.delete_metadata(caller, snapshot_id, key)

    async def delete_snapshot(self, caller: Caller, snapshot_id: str) -> None:
        must_write(caller)

        def txn(t: Txn) -> Snapshot:
            snap = self.table.must_get(t, caller, snapshot_id)
            states.require("snapshot", snap.id, snap.status, states.SNAP_CAN_DELETE)
            cloning = [
                v
                for v in t.scan(Volume, snap.project)
                if v.snapshot_id == snap.id and v.status == states.CREATING
            ]
            if cloning:
                raise BadRequest(
                    f"Invalid snapshot {snap.id}: volume {cloning[0].id} is being created from it."
                )
            snap.status = states.SNAP_DELETING
            t.put(snap)
            return snap

        snap = await self.ctx.store.write(txn)
        self.ctx.spawn(self.finish_snapshot_delete(snap), f"delete snapshot {snap.id}")

    async def finish_snapshot_delete(self, snap: Snapshot) -> None:
        try:
            await self.ctx.io(self.ctx.backend.delete_snapshot, snap.id)
        except Exception as exc:
            log.exception("deleting snapshot %s failed", snap.id)
            await self.set_snapshot_status(
                snap, states.SNAP_ERROR_DELETING, states.SNAP_DELETING, reason=str(exc)
            )
            return
        await self.table.forget(snap)
