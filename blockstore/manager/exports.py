"""Exports: what the target serves for each volume, always rebuilt from the records.

``sync_export`` makes the target match the volume's live attachments (their
initiators, CHAP credentials, access mode, the type's QoS and write cache), so
exports converge and a restart re-creates them. Everything the volume services ask
of the target driver goes through here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from blockstore.export.base import (
    Acl,
    ExportSession,
    ExportSpec,
    RoutedPortals,
    connection_info,
)
from blockstore.manager import states
from blockstore.manager.context import Context
from blockstore.manager.errors import BackendError
from blockstore.manager.records import Attachment, Volume, VolumeType
from blockstore.manager.store import Txn
from blockstore.manager.table import attachments_of
from blockstore.manager.types import qos_for, write_cache_for

EXPORTED = (states.ATT_ATTACHING, states.ATT_ATTACHED)


def is_exported(t: Txn, vol: Volume) -> bool:
    return any(a.status in EXPORTED for a in attachments_of(t, vol))


class Exports:
    """The volumes' side of the target driver (``ctx.driver``; None: nothing is exported)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def export_spec(self, t: Txn, vol: Volume) -> ExportSpec | None:
        """What the target should serve for ``vol`` now (None: nothing)."""
        live = [a for a in attachments_of(t, vol) if a.status in EXPORTED and a.initiator]
        if not live:
            return None
        acls = tuple(Acl(a.initiator or "", a.chap_user, a.chap_secret) for a in live)
        read_only = vol.readonly or all(a.attach_mode == "ro" for a in live)
        return ExportSpec(
            volume_id=vol.id,
            path=str(self.ctx.backend.volume_path(vol.id)),
            target_iqn=self.ctx.target_iqn(vol.id),
            lun=0,
            read_only=read_only,
            acls=acls,
            qos=qos_for(t, vol),
            write_cache=write_cache_for(t, vol),
        )

    async def sync_export(self, vol: Volume) -> tuple[ExportSpec | None, tuple[str, ...] | None]:
        """Make the target match the records; (spec, portals). Call with ``lock(vol.id)`` held."""
        driver = self.ctx.driver
        if driver is None:
            raise BackendError("no target driver is configured")
        spec = self.ctx.store.read(lambda t: self._fresh_spec(t, vol))
        if spec is None:
            await driver.remove_export(self.ctx.target_iqn(vol.id))
            return None, None
        info = await driver.ensure_export(spec)
        return spec, info.target_portals or (info.target_portal,)

    def _fresh_spec(self, t: Txn, vol: Volume) -> ExportSpec | None:
        cur = t.get(Volume, vol.project, vol.id)
        return None if cur is None else self.export_spec(t, cur)

    def portals(self, volume_id: str | None = None) -> tuple[str, ...] | None:
        """The ``host:port`` portals initiators are told to use (None: no target); with
        several backends, those of the one serving ``volume_id``."""
        driver = self.ctx.driver
        if driver is None:
            return None
        if volume_id is not None and isinstance(driver, RoutedPortals):
            return tuple(driver.portals_for(self.ctx.target_iqn(volume_id))) or None
        return tuple(driver.portals) or None

    @staticmethod
    def connection_for(
        spec: ExportSpec, portals: tuple[str, ...], att: Attachment
    ) -> dict[str, Any]:
        """os-brick connection info for one attachment (its own CHAP credentials)."""
        info = connection_info(spec, portals, att.initiator).to_dict()
        info["data"].update(
            access_mode=att.attach_mode,
            volume_id=att.volume_id,
            encrypted=False,
            qos_specs=None,
        )
        return info

    def refresh_exports(
        self, *, type_ids: set[str] | None = None, qos_id: str | None = None
    ) -> asyncio.Task[Any] | None:
        """Re-export the in-use volumes of these types (or of the types using ``qos_id``),
        in the background, so a changed type or QoS spec applies at once."""
        if self.ctx.driver is None:
            return None

        def pick(t: Txn) -> list[Volume]:
            wanted = set(type_ids or ())
            if qos_id is not None:
                wanted |= {vt.id for vt in t.scan(VolumeType) if vt.qos_specs_id == qos_id}
            return [v for v in t.scan(Volume) if v.volume_type_id in wanted and is_exported(t, v)]

        async def run(vols: list[Volume]) -> None:
            for vol in vols:
                async with self.ctx.lock(vol.id):
                    await self.sync_export(vol)

        vols = self.ctx.store.read(pick)
        return self.ctx.spawn(run(vols), "refresh exports") if vols else None

    @contextlib.asynccontextmanager
    async def quiesced(self, volume_id: str) -> AsyncIterator[None]:
        """Hold the exported LUN's writes while the volume's file is copied."""
        if self.ctx.driver is None:
            yield
            return
        async with self.ctx.driver.quiesce(self.ctx.target_iqn(volume_id)):
            yield

    async def extended(self, volume_id: str) -> None:
        """The volume's file grew: the exported LUN tells its initiators."""
        if self.ctx.driver is not None:
            await self.ctx.driver.extend_export(self.ctx.target_iqn(volume_id))

    async def remove(self, volume_id: str) -> None:
        if self.ctx.driver is not None:
            await self.ctx.driver.remove_export(self.ctx.target_iqn(volume_id))

    async def sessions(self) -> list[ExportSession]:
        return await self.ctx.driver.sessions() if self.ctx.driver is not None else []
