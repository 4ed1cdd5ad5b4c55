"""Moving a volume to another backend (Cinder's ``os-migrate_volume``, an admin action).

The copy is offline: the volume must be ``available`` and without snapshots (as Cinder
asks), and it is held in ``maintenance`` (Cinder's ``lock_volume``, implied here) while its
file is streamed from the old backend to the new one. Both ends hash what they hold; the
new copy counts only when the two SHA-256 agree, and only then does the record move
(``host``) and the old file go. ``migration_status`` follows Cinder: ``migrating``, then
``success`` or ``error`` (the volume stays where it was).

An in-use volume (one attachment, a server's) moves while its guest runs, as Cinder and
Nova's swap_volume do it (:meth:`Migrations._live`): the copy is made on the new backend
and exported to the server's initiator, the compute service mirrors the guest's disk to
it with a QEMU block job and pauses the guest once both copies agree, both backends hash
their copy, and only if the hashes match does the compute service pivot the guest to the
new copy; then the record moves and the old copy and its export go. Any failure before
the pivot leaves the guest on its original volume (``in-use``, ``migration_status``
``error``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Literal, Protocol

from blockstore.manager import placement, states
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, must_be_cloud_admin
from blockstore.manager.errors import BackendError, BadRequest, NotFound
from blockstore.manager.exports import Exports
from blockstore.manager.placement import Copied, GiB, Pool
from blockstore.manager.records import Attachment, Snapshot, Volume
from blockstore.manager.store import Txn
from blockstore.manager.table import attachments_of

log = logging.getLogger("blockstore.manager")
MIGRATING, SUCCESS, FAILED = "migrating", "success", "error"
SwapStep = Literal["mirror", "complete", "abort"]


class SwapRefused(Exception):
    """The compute service answered a swap step with an error (it undid its part)."""


class ComputeSwap(Protocol):
    """The compute service's side of a live migration (``compute_glue.servers.swap``)."""

    async def step(
        self,
        server_id: str,
        volume_id: str,
        step: SwapStep,
        connection_info: dict[str, Any] | None = None,
    ) -> None:
        """Run one step; SwapRefused when the compute service refused or undid it."""
        ...


class Migrations:
    """Migrations of volumes between the backends of ``ctx.pool``."""

    def __init__(self, ctx: Context, exports: Exports) -> None:
        self.ctx = ctx
        self.exports = exports
        self.last: dict[str, Copied] = {}  # volume id -> its last migration's copy (tests)
        self.paused: dict[str, float] = {}  # volume id -> seconds its guest was paused (tests)

    async def migrate_volume(
        self,
        caller: Caller,
        volume_id: str,
        host: Any,
        *,
        force_host_copy: Any = False,
        compute: ComputeSwap | None = None,
    ) -> Volume:
        """Start the migration of ``volume_id`` (any project's) to backend ``host``; an
        in-use volume needs ``compute``, the server's compute service."""
        must_be_cloud_admin(caller)
        pool = self._pool()
        if not isinstance(host, str) or not host:
            raise BadRequest("Invalid input received: os-migrate_volume needs a host.")
        if not isinstance(force_host_copy, bool):
            raise BadRequest("Invalid input received: force_host_copy must be a boolean.")
        dest = placement.find(pool.backends(), host)
        if dest is None or not dest.up:
            raise BadRequest(f"Invalid host: No available service named {host[:120]}")

        def txn(t: Txn) -> tuple[Volume, Attachment | None]:
            vol = _any_project(t, volume_id)
            if vol.migration_status == MIGRATING:
                raise BadRequest(f"Invalid volume: Volume {vol.id} is already being migrated.")
            allowed = {states.AVAILABLE, states.IN_USE} if compute else {states.AVAILABLE}
            states.require("volume", vol.id, vol.status, frozenset(allowed))
            atts = attachments_of(t, vol)
            att = _live_attachment(vol, atts) if vol.status == states.IN_USE else None
            if atts and att is None:
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
            return vol, att

        vol, att = await self.ctx.store.write(txn)
        log.info("volume %s migrating from %s to %s", vol.id, vol.host, dest.host)
        if att is not None and compute is not None:
            work = self._live(pool, vol, att, dest.host, compute)
        else:
            work = self._copy(pool, vol, dest.host)
        self.ctx.spawn(work, f"migrate volume {vol.id}")
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

    async def _live(
        self, pool: Pool, vol: Volume, att: Attachment, dest: str, compute: ComputeSwap
    ) -> None:
        """The attached volume's move: copy, mirror, verify, pivot, switch, clean up."""
        started, src, server = time.monotonic(), vol.host, att.instance_uuid or ""
        stage, mirrored, digest = "creating the copy", False, ""
        try:
            await self.ctx.io(pool.create_on, dest, vol.id, vol.size * GiB, vol.thick)
            stage = "exporting the copy"
            spec = self.ctx.store.read(lambda t: self.exports.export_spec(t, vol))
            if spec is None:
                raise BackendError("the volume is no longer exported")
            portals = await self.ctx.io(pool.export_on, dest, spec)
            info = self.exports.connection_for(spec, portals, att)
            stage = "mirroring"
            await compute.step(server, vol.id, "mirror", info)
            mirrored, paused = True, time.monotonic()
            stage = "verifying"
            digest, theirs = await asyncio.gather(
                self.ctx.io(pool.checksum_on, src, vol.id),
                self.ctx.io(pool.checksum_on, dest, vol.id),
            )
            if digest != theirs:
                raise BackendError(f"the copies differ: sha256 {digest} on {src}, {theirs}")
            stage = "pivoting"
            await compute.step(server, vol.id, "complete")
            self.paused[vol.id] = time.monotonic() - paused
        except Exception as exc:
            log.exception("live migration of volume %s to %s failed while %s", vol.id, dest,
                          stage)  # fmt: skip
            unknown = stage == "pivoting" and not isinstance(exc, SwapRefused)
            if mirrored and stage != "pivoting":
                with contextlib.suppress(Exception):
                    await compute.step(server, vol.id, "abort")
            if not unknown:  # the guest is on its original volume: the copy goes
                with contextlib.suppress(Exception):
                    await self.ctx.io(pool.unexport_on, dest, self.ctx.target_iqn(vol.id))
                with contextlib.suppress(Exception):
                    await self.ctx.io(pool.drop_volume, vol.id, dest)
            reason = f"live migration to {dest} failed while {stage}: {exc}"
            if unknown:
                reason += f" (the copy on {dest} is kept: the pivot's outcome is unknown)"
            await self._end(vol, src, FAILED, reason)
            return
        await self._end(vol, dest, SUCCESS, None)
        pool.bind(vol.id, dest)
        try:  # the old target's sessions end with its export
            await self.ctx.io(pool.unexport_on, src, self.ctx.target_iqn(vol.id))
            await self.ctx.io(pool.drop_volume, vol.id, src)
        except Exception:
            log.exception("volume %s migrated; its old copy on %s stays", vol.id, src)
        seconds = time.monotonic() - started
        self.last[vol.id] = Copied(vol.size * GiB, seconds, digest)
        log.info("volume %s migrated live to %s (%.1f MB/s, sha256 %s)", vol.id, dest,
                 vol.size * GiB / max(seconds, 1e-6) / 1e6, digest)  # fmt: skip

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


def _live_attachment(vol: Volume, atts: list[Attachment]) -> Attachment | None:
    """The one server attachment an in-use volume may move with (Cinder refuses
    multiattach volumes in use)."""
    if len(atts) != 1:
        return None
    att = atts[0]
    ok = att.status == states.ATT_ATTACHED and att.service_owned and att.instance_uuid
    return att if ok and not vol.multiattach else None


def _any_project(t: Txn, volume_id: str) -> Volume:
    """A cloud admin names a volume of any project by its id."""
    for vol in t.scan(Volume):
        if vol.id == volume_id:
            return vol
    raise NotFound(f"Volume {str(volume_id)[:80]} could not be found.")
