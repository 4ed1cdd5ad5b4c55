"""The iSCSI target server: portals, the target registry, live sessions.

This is the API the volume service drives::

    server = TargetServer("0.0.0.0", 3260)
    await server.start()
    target = server.ensure_target("iqn.2026-11.io.stratus:vol-1")
    target.add_lun(0, unit)                      # an opened blockstore.scsi.LogicalUnit
    target.set_acl("iqn.1994-05.com.redhat:host", chap_user="u", chap_secret="s" * 12)
    ...
    await server.add_portal("10.0.0.5", 3260, tag=2)   # listens at once, in portal group 2
    server.bind_target(target.iqn, {2})          # reachable only through group 2 now
    await server.remove_target(target.iqn)       # asks initiators to log out, then drops them
    await server.stop()

Every change takes effect at once, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from blockstore.iscsi.chap import Credentials
from blockstore.iscsi.connection import Connection
from blockstore.iscsi.negotiate import SessionParams, TargetLimits
from blockstore.iscsi.portals import Portal, check_address, check_tag
from blockstore.iscsi.session import Session, SessionType
from blockstore.iscsi.stream import PduStream
from blockstore.iscsi.target import Target, normalize_name

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DISCOVERY_AUTH = ("chap-if-protected", "chap", "none")  # iscsi.discovery_auth's values


class TargetServer:
    """A userspace iSCSI target (RFC 7143): portal groups, targets, sessions."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3260,
        *,
        portal_group_tag: int = 1,
        limits: TargetLimits | None = None,
        queue_depth: int = 64,
        nop_interval: float = 30.0,
        nop_timeout: float = 15.0,
        login_timeout: float = 15.0,
        logout_grace: float = 2.0,
        max_connections: int = 256,
        max_write_bytes: int = 16 * MiB,
        write_budget: int = 128 * MiB,
        discovery_credentials: Credentials | None = None,
        discovery_auth: str = "chap-if-protected",
    ) -> None:
        check_tag(portal_group_tag)
        if discovery_auth not in DISCOVERY_AUTH:
            raise ValueError(f"discovery_auth must be one of {', '.join(DISCOVERY_AUTH)}")
        if not 1 <= queue_depth <= 4096:
            raise ValueError("queue depth must be 1..4096")
        self.portal_group_tag = portal_group_tag
        self.limits = limits or TargetLimits()
        self.queue_depth = queue_depth
        self.nop_interval = nop_interval
        self.nop_timeout = nop_timeout
        self.login_timeout = login_timeout
        self.logout_grace = logout_grace
        self.max_connections = max_connections
        self.max_write_bytes = max_write_bytes
        self.write_budget = max(write_budget, max_write_bytes)
        self.discovery_credentials = discovery_credentials  # sees all; None: none such
        self.discovery_auth = discovery_auth
        self._portals: list[Portal] = [Portal(*check_address(host, port), portal_group_tag)]
        self._running = False
        self._targets: dict[str, Target] = {}
        self._sessions: dict[int, Session] = {}
        self._by_key: dict[tuple[str, bytes, str], Session] = {}
        self._connections: set[Connection] = set()
        self._tsih = itertools.count(1)

    # -- lifecycle --------------------------------------------------------------------

    async def add_portal(self, host: str, port: int, *, tag: int | None = None) -> Portal:
        """Listen on one more address, in portal group ``tag`` (default: the first group).

        Before start() the portal is recorded; on a running server it listens at once.
        """
        check_address(host, port)
        tag = self.portal_group_tag if tag is None else check_tag(tag)
        if port and self._find_portal(host, port) is not None:
            raise ValueError(f"portal {host}:{port} exists")
        portal = Portal(host, port, tag)
        if self._running:
            await self._listen(portal)
        self._portals.append(portal)
        return portal

    async def remove_portal(self, host: str, port: int) -> bool:
        """Stop listening on a portal and drop the connections that came through it."""
        portal = self._find_portal(host, port)
        if portal is None:
            return False
        self._portals.remove(portal)
        await self._close_portal(portal)
        return True

    async def start(self) -> None:
        self._running = True
        try:
            for portal in self._portals:
                if portal.listener is None:
                    await self._listen(portal)
        except BaseException:
            await self.stop()
            raise
        log.info(
            "iSCSI target listening on %s",
            ", ".join(f"{p.host}:{p.port} (group {p.tag})" for p in self._portals),
        )

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        self._running = False
        for portal in self._portals:
            if portal.listener is not None:
                portal.listener.close()
        await _drop(list(self._connections))
        for portal in self._portals:
            if portal.listener is not None:
                await _within(portal.listener.wait_closed())
                portal.listener = None

    async def _listen(self, portal: Portal) -> None:
        loop = asyncio.get_running_loop()
        serve = partial(self._serve, portal)
        portal.listener = await loop.create_server(
            lambda: PduStream(serve), portal.host, portal.port, reuse_address=True, backlog=128
        )
        portal.port = portal.listener.sockets[0].getsockname()[1]

    async def _close_portal(self, portal: Portal) -> None:
        listener, portal.listener = portal.listener, None
        if listener is not None:
            listener.close()
        await _drop([c for c in self._connections if c.portal is portal])
        if listener is not None:
            await _within(listener.wait_closed())
        log.info("iSCSI portal %s:%d (group %d) closed", portal.host, portal.port, portal.tag)

    def _find_portal(self, host: str, port: int) -> Portal | None:
        return next((p for p in self._portals if p.matches(host, port)), None)

    async def __aenter__(self) -> TargetServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def host(self) -> str:
        return self._portals[0].host

    @property
    def port(self) -> int:
        """The first portal's port (the bound one after start(), even when 0 was asked)."""
        return self._portals[0].port

    @property
    def portals(self) -> list[tuple[str, int]]:
        return [(p.host, p.port) for p in self._portals]

    @property
    def portal_groups(self) -> dict[int, list[tuple[str, int]]]:
        """Each portal group's tag and its portals."""
        groups: dict[int, list[tuple[str, int]]] = {}
        for p in self._portals:
            groups.setdefault(p.tag, []).append((p.host, p.port))
        return groups

    # -- targets ----------------------------------------------------------------------

    def add_target(self, iqn: str, alias: str | None = None) -> Target:
        target = Target(iqn, alias)
        if target.iqn in self._targets:
            raise ValueError(f"target {target.iqn} exists")
        self._targets[target.iqn] = target
        return target

    def ensure_target(self, iqn: str, alias: str | None = None) -> Target:
        """The target named ``iqn``, created when missing (idempotent)."""
        existing = self.get_target(iqn)
        if existing is not None:
            if alias is not None:
                existing.alias = alias
            return existing
        return self.add_target(iqn, alias)

    def get_target(self, iqn: str) -> Target | None:
        try:
            return self._targets.get(normalize_name(iqn))
        except ValueError:
            return None

    @property
    def targets(self) -> list[Target]:
        return list(self._targets.values())

    async def remove_target(self, iqn: str) -> bool:
        """Remove a target: its sessions are asked to log out, then closed."""
        target = self.get_target(iqn)
        if target is None:
            return False
        target.removed = True
        del self._targets[target.iqn]
        conns = [s.connection for s in self._sessions.values() if s.target is target]
        await asyncio.gather(*(c.request_logout(self.logout_grace) for c in conns if c is not None))
        return True

    def drop_sessions(self, target: Target, keep: Connection | None = None) -> None:
        """Close every connection to ``target`` now (TARGET COLD RESET), except ``keep``."""
        for session in list(self._sessions.values()):
            conn = session.connection
            if session.target is target and conn is not None and conn is not keep:
                self.session_ended(session)
                conn.shutdown()

    def visible_targets(self, initiator_name: str) -> list[Target]:
        return [t for t in self._targets.values() if t.visible_to(initiator_name)]

    def discovery_choices(self, initiator_name: str) -> tuple[Credentials, ...]:
        """CHAP credentials a discovery session of ``initiator_name`` may prove: the
        cluster's discovery credentials, and the initiator's own for each target."""
        found = [self.discovery_credentials] if self.discovery_credentials else []
        for target in self.visible_targets(initiator_name):
            creds = target.credentials_for(initiator_name)
            if creds is not None and creds not in found:
                found.append(creds)
        return tuple(found)

    def discovered_targets(self, initiator_name: str, proven: Credentials | None) -> list[Target]:
        """What SendTargets lists to a discovery session that proved ``proven`` (None: no
        CHAP): with discovery_auth other than ``none``, a CHAP-protected target only when
        the session proved this initiator's credentials for it (or the discovery ones)."""
        visible = self.visible_targets(initiator_name)
        if self.discovery_auth == "none" or (
            proven is not None and proven == self.discovery_credentials
        ):
            return visible
        return [
            t for t in visible
            if not t.chap_protected or (
                proven is not None and t.credentials_for(initiator_name) == proven
            )
        ]  # fmt: skip

    def bind_target(self, iqn: str, tags: Iterable[int] | None) -> None:
        """Limit a target to some portal groups (None: all); sessions elsewhere are dropped."""
        target = self.get_target(iqn)
        if target is None:
            raise KeyError(iqn)
        target.set_portal_groups(tags)
        for session in list(self._sessions.values()):
            conn = session.connection
            if (
                session.target is target
                and conn is not None
                and not target.reachable_through(conn.portal.tag)
            ):
                self.session_ended(session)
                conn.shutdown()

    def portal_addresses(self, local: tuple, target: Target | None = None) -> list[str]:
        """``TargetAddress`` values of the portals ``target`` is reachable through (or all)."""
        return [
            p.target_address(local)
            for p in self._portals
            if p.listener is not None and (target is None or target.reachable_through(p.tag))
        ]

    # -- sessions ---------------------------------------------------------------------

    def open_session(
        self,
        *,
        isid: bytes,
        initiator_name: str,
        target: Target | None,
        kind: SessionType,
        params: SessionParams,
        cmd_sn: int,
        portal_group_tag: int,
    ) -> Session | None:
        """A new session; an old one with the same initiator, ISID and target is reinstated."""
        key = (initiator_name, isid, target.iqn if target else "")
        old = self._by_key.get(key)
        if old is not None and kind is SessionType.NORMAL:
            # Reinstatement ends the old I_T nexus now, before the new session runs a
            # command (its RESERVE must not be undone by the old session's late cleanup).
            log.info("reinstating session TSIH %d of %s", old.tsih, initiator_name)
            self.session_ended(old)
            if old.connection is not None:
                old.connection.shutdown()
        tsih = self._new_tsih()
        if tsih is None:
            return None
        session = Session(
            tsih=tsih, isid=isid, initiator_name=initiator_name, target=target, kind=kind,
            params=params, cmd_sn=cmd_sn, depth=self.queue_depth,
            portal_group_tag=portal_group_tag,
        )  # fmt: skip
        self._sessions[tsih] = session
        if kind is SessionType.NORMAL:
            self._by_key[key] = session
        return session

    def session_ended(self, session: Session) -> None:
        """The session's connection closed (ErrorRecoveryLevel 0: the session ends too)."""
        if session.ended:
            return
        session.ended = True
        session.close()
        self._forget(session)
        if session.target is not None:
            for unit in list(session.target.luns.values()):
                unit.nexus_lost(session.nexus)

    def _forget(self, session: Session) -> None:
        if self._sessions.get(session.tsih) is session:
            del self._sessions[session.tsih]
        if self._by_key.get(session.key) is session:
            del self._by_key[session.key]

    def session_by_tsih(self, tsih: int) -> Session | None:
        return self._sessions.get(tsih)

    @property
    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    def _new_tsih(self) -> int | None:
        for _ in range(65535):
            tsih = next(self._tsih) % 65536
            if tsih and tsih not in self._sessions:
                return tsih
        return None

    async def _serve(self, portal: Portal, stream: PduStream) -> None:
        if len(self._connections) >= self.max_connections:
            log.warning("connection limit reached; refusing %s", stream.peer)
            stream.close()
            return
        conn = Connection(self, stream, portal)
        self._connections.add(conn)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)


async def _within(waiting: Any, seconds: float = 5.0) -> None:
    """Wait for a close at most ``seconds``: a stuck peer must not hold up a stop."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await waiting


async def _drop(conns: list[Connection]) -> None:
    """Close connections at once, then wait (bounded) for each to finish."""
    for conn in conns:
        conn.shutdown()
    for conn in conns:
        await _within(conn.wait_closed())
