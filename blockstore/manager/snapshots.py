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
from blockstore.manager.core import Caller
from blockstore.manager.errors import BadRequest, NotFound
from blockstore.manager.listing import matches, paginate, parse_sort
from blockstore.manager.records import Snapshot, Volume
from blockstore.manager.store import Txn
from blockstore.manager.volumes import VolumeOps

log = logging.getLogger("blockstore.manager")


class SnapshotOps(VolumeOps):
    async def create_snapshot(
        self,
        caller: Caller,
        volume_id: Any,
        *,
        name: Any = None,
        description: Any = None,
        force: Any = False,
        metadata: Any = None,
    ) -> Snapshot:
        self.must_write(caller)
        if not isinstance(volume_id, str):
            raise BadRequest("Invalid input received: a snapshot needs a volume_id.")
        name = validate.text(name, "name")
        description = validate.text(description, "description", validate.MAX_DESCRIPTION)
        metadata = validate.metadata(metadata)
        force = validate.boolean(force, "force")
        stats = await self.io(self.backend.stats)

        def txn(t: Txn) -> Snapshot:
            vol = self.must_get(t, Volume, caller, volume_id, "Volume")
            allowed = states.CAN_SNAPSHOT_FORCED if force else states.CAN_SNAPSHOT
            states.require("volume", vol.id, vol.status, allowed)
            quotas.check(
                t,
                caller.project,
                self.settings.quota_defaults,
                {"snapshots": 1, "gigabytes": vol.size},
            )
            quotas.check_capacity(t, stats, self.settings.capacity, vol.size, thick=False)
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

        snap = await self.store.write(txn)
        self.spawn(self._finish_snapshot(snap), f"snapshot {snap.id}")
        return snap

    async def _finish_snapshot(self, snap: Snapshot) -> None:
        try:
            async with self.quiesced(snap.volume_id):
                method = await self.io(self.backend.snapshot_volume, snap.volume_id, snap.id)
            log.info("snapshot %s of %s taken by %s", snap.id, snap.volume_id, method)
            status, reason = states.SNAP_AVAILABLE, None
        except Exception as exc:
            log.exception("snapshot %s failed", snap.id)
            await self.io(self.backend.discard_partial_snapshot, snap.id)
            status, reason = states.SNAP_ERROR, str(exc)
        await self.set_snapshot_status(snap, status, states.SNAP_CREATING, reason=reason)

    async def set_snapshot_status(
        self, snap: Snapshot, status: str, expected: str, *, reason: str | None = None
    ) -> None:
        def txn(t: Txn) -> None:
            cur = t.get(Snapshot, snap.project, snap.id)
            if cur is not None and cur.status == expected:
                cur.status, cur.fail_reason = status, reason
                t.put(cur)

        await self.store.write(txn)

    def get_snapshot(self, caller: Caller, snapshot_id: str) -> Snapshot:
        return self.store.read(
            lambda t: self.must_get(t, Snapshot, caller, snapshot_id, "Snapshot")
        )

    def list_snapshots(
        self,
        caller: Caller,
        *,
        filters: dict[str, Any] | None = None,
        limit: Any = None,
        marker: str | None = None,
        sort: str | None = None,
        sort_key: str | None = None,
        sort_dir: str | None = None,
        all_projects: bool = False,
    ) -> tuple[list[Snapshot], bool]:
        order = parse_sort(sort, sort_key, sort_dir)
        wanted = {k: v for k, v in (filters or {}).items() if v is not None}
        scope = None if all_projects and caller.is_cloud_admin else caller.project
        items = [s for s in self.store.scan(Snapshot, scope) if matches(s, wanted)]
        return paginate(items, marker=marker, limit=validate.limit(limit), sort=order)

    async def update_snapshot(
        self, caller: Caller, snapshot_id: str, changes: dict[str, Any]
    ) -> Snapshot:
        self.must_write(caller)
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key in ("name", "display_name"):
                clean["name"] = validate.text(value, "name")
            elif key in ("description", "display_description"):
                clean["description"] = validate.text(value, "description", validate.MAX_DESCRIPTION)
            elif key == "metadata":
                clean["metadata"] = validate.metadata(value)
        if not clean:
            raise BadRequest(
                "Invalid input received: nothing to update (name, description, metadata)."
            )

        def txn(t: Txn) -> Snapshot:
            snap = self.must_get(t, Snapshot, caller, snapshot_id, "Snapshot")
            for key, value in clean.items():
                setattr(snap, key, value)
            t.put(snap)
            return snap

        return await self.store.write(txn)

    async def set_snapshot_metadata(
        self, caller: Caller, snapshot_id: str, items: Any, *, replace: bool = False
    ) -> dict[str, str]:
        """Cinder's snapshot metadata: POST merges, PUT replaces (``openstack volume
        snapshot set/unset --property``)."""
        self.must_write(caller)
        items = validate.metadata(items)

        def txn(t: Txn) -> dict[str, str]:
            snap = self.must_get(t, Snapshot, caller, snapshot_id, "Snapshot")
            snap.metadata = dict(items) if replace else {**snap.metadata, **items}
            validate.metadata(snap.metadata)
            t.put(snap)
            return snap.metadata

        return await self.store.write(txn)

    async def delete_snapshot_metadata(self, caller: Caller, snapshot_id: str, key: str) -> None:
        self.must_write(caller)

        def txn(t: Txn) -> None:
            snap = self.must_get(t, Snapshot, caller, snapshot_id, "Snapshot")
            if key not in snap.metadata:
                raise NotFound(f"Snapshot {snapshot_id} has no metadata with key {key[:80]}.")
            del snap.metadata[key]
            t.put(snap)

        await self.store.write(txn)

    async def delete_snapshot(self, caller: Caller, snapshot_id: str) -> None:
        self.must_write(caller)

        def txn(t: Txn) -> Snapshot:
            snap = self.must_get(t, Snapshot, caller, snapshot_id, "Snapshot")
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

        snap = await self.store.write(txn)
        self.spawn(self.finish_snapshot_delete(snap), f"delete snapshot {snap.id}")

    async def finish_snapshot_delete(self, snap: Snapshot) -> None:
        try:
            await self.io(self.backend.delete_snapshot, snap.id)
        except Exception as exc:
            log.exception("deleting snapshot %s failed", snap.id)
            await self.set_snapshot_status(
                snap, states.SNAP_ERROR_DELETING, states.SNAP_DELETING, reason=str(exc)
            )
            return
        await self.store.write(lambda t: t.delete(snap))
