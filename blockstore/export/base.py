"""The export interface: what a target driver must do to put a volume on the wire.

Two drivers implement :class:`ExportDriver`: the built-in userspace iSCSI
target and the kernel's LIO (``lio.py``). Both converge: ``ensure_export``
creates what is missing and corrects what differs, so it can run at start-up
for every volume that should be exported; ``remove_export`` of something
absent is not an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# RFC 7143 4.2.7.2: iqn.yyyy-mm.<reversed domain>[:<anything>], or eui.<16 hex>.
_IQN = re.compile(r"^iqn\.\d{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[^\s]+)?$")
_EUI = re.compile(r"^eui\.[0-9A-F]{16}$")
_VOLUME_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_NAME = 223  # bytes, RFC 7143 4.2.7.1
MAX_LUN = 16383  # single-level flat addressing


class ExportError(Exception):
    """A volume could not be exported or unexported (bad spec, or the target refused)."""


def valid_iscsi_name(name: str) -> bool:
    if not name or len(name.encode("utf-8")) > MAX_NAME:
        return False
    return bool(_IQN.match(name) or _EUI.match(name))


@dataclass(frozen=True)
class Acl:
    """One initiator allowed to log in, with its CHAP credentials (both or neither)."""

    initiator_iqn: str
    chap_user: str | None = None
    chap_secret: str | None = field(default=None, repr=False)

    def validate(self) -> None:
        if not valid_iscsi_name(self.initiator_iqn):
            raise ExportError(f"invalid initiator name {self.initiator_iqn!r}")
        if (self.chap_user is None) != (self.chap_secret is None):
            raise ExportError("CHAP needs both a user name and a secret")
        if self.chap_user is not None:
            if not 1 <= len(self.chap_user) <= 255 or not self.chap_user.isprintable():
                raise ExportError("CHAP user name must be 1-255 printable characters")
            secret = self.chap_secret or ""
            # RFC 7143 12.1.3: at least 12 bytes; LIO stores at most 255.
            if not 12 <= len(secret.encode("utf-8")) <= 255 or not secret.isprintable():
                raise ExportError("CHAP secret must be 12-255 printable characters")


@dataclass(frozen=True)
class ExportSpec:
    """One volume exported as one LUN of one target."""

    volume_id: str
    path: str  # the backing file or block device
    target_iqn: str
    lun: int = 0
    read_only: bool = False
    acls: tuple[Acl, ...] = ()  # empty: any initiator may log in, without CHAP
    # QoS limits as (key, value) pairs, keys as Cinder's QoS specs (total_iops_sec,
    # read_bytes_sec, ...); a driver that cannot enforce them ignores them.
    qos: tuple[tuple[str, int], ...] = ()
    # WCE=1: writes are acknowledged from the page cache and made durable by FUA or
    # SYNCHRONIZE CACHE; False: every write is written through (O_DSYNC) before GOOD.
    write_cache: bool = True

    def validate(self) -> None:
        if not _VOLUME_ID.match(self.volume_id):
            raise ExportError(f"invalid volume id {self.volume_id!r}")
        if not self.path.startswith("/"):
            raise ExportError("backing path must be absolute")
        if not valid_iscsi_name(self.target_iqn):
            raise ExportError(f"invalid target name {self.target_iqn!r}")
        if not 0 <= self.lun <= MAX_LUN:
            raise ExportError(f"LUN {self.lun} out of range 0-{MAX_LUN}")
        if len({acl.chap_user is None for acl in self.acls}) > 1:
            raise ExportError("either every ACL has CHAP credentials or none has")
        seen = set()
        for acl in self.acls:
            acl.validate()
            if acl.initiator_iqn in seen:
                raise ExportError(f"initiator {acl.initiator_iqn} listed twice")
            seen.add(acl.initiator_iqn)


@dataclass(frozen=True)
class ConnectionInfo:
    """Where and how an initiator reaches an export, in os-brick's terms."""

    target_portal: str  # "host:port"
    target_iqn: str
    target_lun: int
    auth_method: str | None = None  # "CHAP" or None
    auth_username: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    discard: bool = True
    target_portals: tuple[str, ...] = ()  # every portal of the group (multipath), first first

    def to_dict(self) -> dict[str, Any]:
        """The ``initialize_connection`` answer of a Cinder iSCSI driver."""
        data: dict[str, Any] = {
            "target_discovered": False,
            "target_portal": self.target_portal,
            "target_iqn": self.target_iqn,
            "target_lun": self.target_lun,
            "discard": self.discard,
        }
        if len(self.target_portals) > 1:  # os-brick's multipath keys, one entry per path
            n = len(self.target_portals)
            data.update(
                target_portals=list(self.target_portals),
                target_iqns=[self.target_iqn] * n,
                target_luns=[self.target_lun] * n,
            )
        if self.auth_method:
            data.update(
                auth_method=self.auth_method,
                auth_username=self.auth_username,
                auth_password=self.auth_password,
            )
        return {"driver_volume_type": "iscsi", "data": data}


@dataclass(frozen=True)
class ExportSession:
    """One live iSCSI session on an export, as a cloud admin sees it (no credentials)."""

    target_iqn: str
    initiator: str  # the initiator's iSCSI name
    portal: str  # "host:port" of the connection's local end (the portal it came in through)
    peer: str  # "host:port" of the initiator's end
    isid: str  # hex
    tsih: int
    connected_at: float  # epoch seconds of the login


AUTH_SECRET_KEYS = (
    "auth_username", "auth_password", "discovery_auth_username", "discovery_auth_password",
)  # fmt: skip


def without_secrets(info: dict[str, Any]) -> dict[str, Any]:
    """Connection info fit for a role that may not connect: the CHAP credentials removed."""
    data = {k: v for k, v in info.get("data", {}).items() if k not in AUTH_SECRET_KEYS}
    return {**info, "data": data}


def connection_info(
    spec: ExportSpec, portals: str | Sequence[str], initiator_iqn: str | None = None
) -> ConnectionInfo:
    """ConnectionInfo for ``spec`` through ``portals`` (one, or a group's for multipath),
    with the CHAP credentials of ``initiator_iqn`` (default: the first ACL that has CHAP)."""
    listed = (portals,) if isinstance(portals, str) else tuple(portals)
    if not listed:
        raise ExportError("an export needs at least one portal")
    portal = listed[0]
    chosen = None
    for acl in spec.acls:
        if initiator_iqn is not None and acl.initiator_iqn != initiator_iqn:
            continue
        if acl.chap_user is not None:
            chosen = acl
            break
    if chosen is None:
        return ConnectionInfo(portal, spec.target_iqn, spec.lun, target_portals=listed)
    return ConnectionInfo(
        portal, spec.target_iqn, spec.lun, "CHAP", chosen.chap_user, chosen.chap_secret,
        target_portals=listed,
    )  # fmt: skip


@runtime_checkable
class ExportDriver(Protocol):
    """A target driver (userspace iSCSI target, or LIO). Every member is required; a
    driver that cannot do something implements it as the documented no-op."""

    name: str

    @property
    def portals(self) -> Sequence[str]:
        """The ``host:port`` portals initiators are told to use, first first (a portal
        group: multipath paths)."""
        ...

    async def ensure_export(self, spec: ExportSpec) -> ConnectionInfo:
        """Create or correct the export of ``spec``; idempotent."""
        ...

    async def remove_export(self, target_iqn: str) -> None:
        """Remove the target and what only it used; absent is not an error."""
        ...

    async def list_exports(self) -> list[str]:
        """Target IQNs this driver currently exports."""
        ...

    async def sessions(self) -> list[ExportSession]:
        """The live sessions on this driver's targets (none: a driver that cannot read them)."""
        ...

    def quiesce(self, target_iqn: str) -> AbstractAsyncContextManager[None]:
        """Hold the export's writes (flushed first) while inside, so a copy of its file is
        one point in time (a no-op where the driver cannot hold them)."""
        ...

    async def extend_export(self, target_iqn: str) -> None:
        """The backing file grew: let the LUN and its initiators see the new size (a
        no-op where the target re-reads it by itself)."""
        ...

    async def close(self) -> None:
        """Release what the driver opened (not the exports a kernel target keeps)."""
        ...


@runtime_checkable
class RoutedPortals(Protocol):
    """A driver over several targets (the pool of backend processes): each export has the
    portals of the target that serves it."""

    def portals_for(self, target_iqn: str) -> Sequence[str]:
        """The portals of the target serving ``target_iqn`` (empty: unknown)."""
        ...
