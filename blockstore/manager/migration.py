"""Moving a volume to another backend (Cinder's ``os-migrate_volume``, an admin action).

The copy is offline: the volume must be ``available`` and without snapshots (as Cinder
asks), and it is held in ``maintenance`` (Cinder's ``lock_volume``, implied here) while its
file is streamed from the old backend to the new one. Both ends hash what they hold; the
new copy counts only when the two SHA-256 agree, and only then does the record move
(``host``) and the old file go. ``migration_status`` follows Cinder: ``migrating``, then
``success`` or ``error`` (the volume stays where it was).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from blockstore.manager import placement, states
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, must_be_cloud_admin
from blockstore.manager.errors import BadRequest, NotFound
from blockstore.manager.placement import Copied, Pool
from blockstore.manager.records import Snapshot, Volume
from blockstore.manager.store import Txn
from blockstore.manager.table import attachments_of

log = logging.getLogger("blockstore.manager")
MIGRATING, SUCCESS, FAILED = "migrating", "success", "error"


class Migrations:
    """Migrations of volumes between the backends of ``ctx.pool``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.last: dict[str, Copied] = {}  # volume id -> its last migration's copy (tests)

    async def migrate_volume(
        self, caller: Caller, volume_id: str, host: Any, *, force_host_copy: Any = False
    ) -> Volume:
        """Start the migration of ``volume_id`` (any project's) to backend ``host``."""
        must_be_cloud_admin(caller)
        pool = self._pool()
        if not isinstance(host, str) or not host:
            raise BadRequest("Invalid input received: os-migrate_volume needs a host.")
        if not isinstance(force_host_copy, bool):
            raise BadRequest("Invalid input received: force_host_copy must be a boolean.")
        dest = placement.find(pool.backends(), host)
        if dest is None or not dest.up:
            raise BadRequest(f"Invalid host: No available service named {host[:120]}")

        def txn(t: Txn) -> Volume:
            vol = _any_project(t, volume_id)
            if vol.migration_status == MIGRATING:
                raise BadRequest(f"Invalid volume: Volume {vol.id} is already being migrated.")
            states.require("volume", vol.id, vol.status, frozenset({states.AVAILABLE}))
            if attachments_of(t, vol):
                raise BadRequest(f"Invalid volume: Volume {vol.id} has attachments.")
            if any(s.volume_id == vol.id for s in t.scan(Snapshot, vol.project)):
                raise BadRequest(f"Invalid volume: Volume {vol.id} must not have snapshots.")
            if vol.host == dest.host:
                raise BadRequest(
                    "Invalid host: Destination host must be different than the current host."
                )
            vol.previous_status, vol.status = vol.status, states.MAINTENANCE
            vol.migration_status = MIGRATING
            t.put(vol)
            return vol

        vol = await self.ctx.store.write(txn)
        log.info("volume %s migrating from %s to %s", vol.id, vol.host, dest.host)
        self.ctx.spawn(self._copy(pool, vol, dest.host), f"migrate volume {vol.id}")
        return vol

    def _pool(self) -> Pool:
        if self.ctx.pool is None:
            raise BadRequest(
                "Invalid host: this volume service has one backend; migration needs several "
                "(volume.backends)."
            )
        return self.ctx.pool

    async def _copy(self, pool: Pool, vol: Volume, dest: str) -> None:
        started = time.monotonic()
        try:
            copied = await self.ctx.io(pool.copy_volume, vol.id, vol.host, dest, vol.thick)
        except Exception as exc:
            log.exception("migrating volume %s to %s failed", vol.id, dest)
            await self._end(vol, vol.host, FAILED, f"migration to {dest} failed: {exc}")
            return
        await self._end(vol, dest, SUCCESS, None)
        pool.bind(vol.id, dest)
        self.last[vol.id] = copied
        try:
            await self.ctx.io(pool.drop_volume, vol.id, vol.host)
        except Exception:
            log.exception("volume %s migrated; its old file on %s stays", vol.id, vol.host)
        mbps = copied.size / max(time.monotonic() - started, 1e-6) / 1e6
        log.info(
            "volume %s migrated to %s (%.1f MB/s, sha256 %s)", vol.id, dest, mbps, copied.sha256
        )

    async def _end(self, vol: Volume, host: str, outcome: str, reason: str | None) -> None:
        def txn(t: Txn) -> None:
            cur = t.get(Volume, vol.project, vol.id)
            if cur is None or cur.status != states.MAINTENANCE:
                return
            cur.host, cur.migration_status = host, outcome
            cur.status, cur.previous_status = cur.previous_status or states.AVAILABLE, None
            if reason is not None:
                cur.fail_reason = reason
            t.put(cur)

        await self.ctx.store.write(txn)


def _any_project(t: Txn, volume_id: str) -> Volume:
    """A cloud admin names a volume of any project by its id."""
    for vol in t.scan(Volume):
        if vol.id == volume_id:
            return vol
    raise NotFound(f"Volume {str(volume_id)[:80]} could not be found.")
