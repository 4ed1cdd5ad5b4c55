"""The userspace target driver: exports volumes through the built-in iSCSI target.

The driver and the :class:`~blockstore.iscsi.TargetServer` live in the
volume service's process: one target per volume (``<prefix>:volume-<id>``),
the volume's file as LUN 0 (a :class:`~blockstore.export.qos.ThrottledUnit`
carrying the QoS limits), and an ACL entry with CHAP credentials per allowed
initiator. ``ensure_export`` converges: it opens the LUN when missing or
when the file or the access mode changed, applies the QoS limits, adds and
removes ACL entries, and ends the sessions of initiators that lost access
or whose credentials changed. ``remove_export`` asks every initiator to log
out and closes the LUN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from blockstore.export.base import (
    ConnectionInfo,
    ExportError,
    ExportSession,
    ExportSpec,
    connection_info,
)
from blockstore.export.qos import Limiter, ThrottledUnit
from blockstore.iscsi import Target, TargetServer, normalize_name
from blockstore.iscsi.session import SessionType

log = logging.getLogger(__name__)


class UserspaceDriver:
    """ExportDriver over an in-process TargetServer (started and stopped by its owner)."""

    name = "userspace"

    def __init__(
        self, server: TargetServer, *, advertise: str | None = None, block_size: int = 512
    ) -> None:
        self.server = server
        self.advertise = advertise
        self.block_size = block_size
        self._creds: dict[str, dict[str, tuple[str | None, str | None]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def portal(self) -> str:
        """The first portal, named by ``advertise`` when given."""
        return self.portals[0]

    @property
    def portals(self) -> list[str]:
        """Every portal initiators may use (one portal group: multipath paths)."""
        out = []
        for i, (host, port) in enumerate(self.server.portals):
            if i == 0 and self.advertise:
                host = self.advertise
            if host in ("", "0.0.0.0", "::"):
                host = "127.0.0.1"
            shown = f"[{host}]" if ":" in host else host
            out.append(f"{shown}:{port}")
        return out

    def _lock(self, iqn: str) -> asyncio.Lock:
        return self._locks.setdefault(normalize_name(iqn), asyncio.Lock())

    # -- ExportDriver ------------------------------------------------------------------

    async def ensure_export(self, spec: ExportSpec) -> ConnectionInfo:
        spec.validate()
        if not os.path.exists(spec.path):
            raise ExportError(f"backing store {spec.path} does not exist")
        async with self._lock(spec.target_iqn):
            target = self.server.ensure_target(spec.target_iqn, alias=f"volume {spec.volume_id}")
            target.removed = False
            await self._ensure_unit(target, spec)
            lost = self._ensure_acl(target, spec)
            await self._end_sessions(target, lost)
        return connection_info(spec, self.portals)

    async def remove_export(self, target_iqn: str) -> None:
        async with self._lock(target_iqn):
            target = self.server.get_target(target_iqn)
            if target is None:
                return
            units = list(target.luns.values())
            await self.server.remove_target(target.iqn)
            for unit in units:
                await unit.close()
            self._creds.pop(target.iqn, None)
        log.info("unexported %s", target_iqn)

    async def list_exports(self) -> list[str]:
        return sorted(t.iqn for t in self.server.targets)

    # -- the rest of the ExportDriver interface ------------------------------------------

    async def sessions(self) -> list[ExportSession]:
        """The live normal sessions on this driver's targets (discovery sessions are not)."""
        out = []
        for s in self.server.sessions:
            conn = s.connection
            if s.kind is not SessionType.NORMAL or s.target is None or conn is None or s.ended:
                continue
            out.append(
                ExportSession(
                    s.target.iqn,
                    s.initiator_name,
                    _address(conn.stream.local),
                    conn.stream.peer,
                    s.isid.hex(),
                    s.tsih,
                    s.opened_at,
                )
            )
        return out

    async def extend_export(self, target_iqn: str) -> None:
        """The volume's file grew: LUNs re-read their size and raise a unit attention."""
        target = self.server.get_target(target_iqn)
        for unit in target.luns.values() if target is not None else ():
            unit.capacity_changed()

    @contextlib.asynccontextmanager
    async def quiesce(self, target_iqn: str) -> AsyncIterator[None]:
        """Hold every write to the export's LUNs (after flushing them) while inside."""
        target = self.server.get_target(target_iqn)
        units = list(target.luns.values()) if target is not None else []
        async with contextlib.AsyncExitStack() as stack:
            for unit in units:
                await stack.enter_async_context(unit.write_gate.exclusive())
                if not unit.read_only:
                    await unit.io(unit.backing.flush)
            yield

    def unit(self, target_iqn: str, lun: int = 0) -> ThrottledUnit | None:
        target = self.server.get_target(target_iqn)
        found = target.luns.get(lun) if target is not None else None
        return found if isinstance(found, ThrottledUnit) else None

    async def close(self) -> None:
        """Close every LUN this driver opened (the server's owner stops the server)."""
        for target in self.server.targets:
            for lun in list(target.luns):
                unit = target.remove_lun(lun)
                if unit is not None:
                    await unit.close()

    # -- the pieces ----------------------------------------------------------------------

    async def _ensure_unit(self, target: Target, spec: ExportSpec) -> None:
        path = os.path.abspath(spec.path)
        unit = target.luns.get(spec.lun)
        if not (
            isinstance(unit, ThrottledUnit)
            and unit.path == path
            and unit.read_only == spec.read_only
        ):
            fresh = ThrottledUnit(
                path,
                read_only=spec.read_only,
                block_size=self.block_size,
                serial=spec.volume_id[:64],
            )
            await fresh.open()
            old = target.remove_lun(spec.lun)
            target.add_lun(spec.lun, fresh)
            if old is not None:
                await old.close()
            unit = fresh
        for other in [n for n in target.luns if n != spec.lun]:
            stale = target.remove_lun(other)
            if stale is not None:
                await stale.close()
        if unit.applied_write_cache != spec.write_cache:  # an initiator's MODE SELECT stands
            unit.mode.set_write_cache(spec.write_cache)
            unit.applied_write_cache = spec.write_cache
        limits = dict(spec.qos)
        if unit.limiter is None or unit.limiter.limits != {k: v for k, v in limits.items() if v}:
            unit.limiter = Limiter(spec.qos)

    def _ensure_acl(self, target: Target, spec: ExportSpec) -> set[str]:
        """Apply the ACL; the initiators that lost access or got new credentials."""
        wanted = {normalize_name(a.initiator_iqn): (a.chap_user, a.chap_secret) for a in spec.acls}
        known = self._creds.setdefault(target.iqn, {})
        lost = {name for name in target.acl() if name not in wanted}
        lost |= {name for name, creds in wanted.items() if name in known and known[name] != creds}
        for name in lost - set(wanted):
            target.remove_acl(name)
            known.pop(name, None)
        for name, (user, secret) in wanted.items():
            target.set_acl(name, user, secret)
            known[name] = (user, secret)
        target.allow_any_initiator = not spec.acls
        if not spec.acls:
            target.set_default_chap(None, None)
        return lost

    async def _end_sessions(self, target: Target, initiators: set[str]) -> None:
        if not initiators:
            return
        conns = []
        for session in self.server.sessions:
            if session.target is not target or session.connection is None:
                continue
            with contextlib.suppress(ValueError):
                if normalize_name(session.initiator_name) in initiators:
                    conns.append(session.connection)
        grace = self.server.logout_grace
        await asyncio.gather(*(c.request_logout(grace) for c in conns))
        if conns:
            log.info("ended %d session(s) on %s", len(conns), target.iqn)


def _address(sockname: tuple) -> str:
    """``host:port`` (``[v6]:port``) of a socket address, "?" when unknown."""
    if len(sockname) < 2:
        return "?"
    host = str(sockname[0])
    return f"[{host}]:{sockname[1]}" if ":" in host else f"{host}:{sockname[1]}"
