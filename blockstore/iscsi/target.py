"""Targets, their LUNs and their access lists: the object model the volume service drives.

A :class:`Target` is an IQN with LUNs (logical units) and an ACL mapping
initiator names to the CHAP credentials each must present. Changes take
effect at once: the next login sees the new ACL, the next command the new
LUN table. Idempotent ``ensure_*`` forms make provisioning converge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from blockstore.iscsi.chap import Credentials
from blockstore.iscsi.portals import check_tag

if TYPE_CHECKING:
    from blockstore.scsi import LogicalUnit

MAX_NAME = 223
MAX_LUN = 16383
_IQN_RE = re.compile(r"^iqn\.\d{4}-\d{2}\.[^\s,:]+(:[^\s,]*)?$")
_EUI_RE = re.compile(r"^eui\.[0-9a-f]{16}$")
_NAA_RE = re.compile(r"^naa\.([0-9a-f]{16}|[0-9a-f]{32})$")


def normalize_name(name: str) -> str:
    """An iSCSI name in canonical (lower-case) form, or ValueError (RFC 7143 section 4.2.7)."""
    low = name.strip().lower()
    if not low or len(low.encode()) > MAX_NAME:
        raise ValueError(f"iSCSI name of bad length: {name[:40]!r}")
    if not (_IQN_RE.match(low) or _EUI_RE.match(low) or _NAA_RE.match(low)):
        raise ValueError(f"not an iqn./eui./naa. iSCSI name: {name[:80]!r}")
    return low


def make_credentials(
    chap_user: str | None,
    chap_secret: str | None,
    mutual_user: str | None = None,
    mutual_secret: str | None = None,
) -> Credentials | None:
    """Validated credentials, or None for "no authentication"."""
    if chap_user is None and chap_secret is None:
        if mutual_user is not None or mutual_secret is not None:
            raise ValueError("mutual CHAP needs one-way CHAP credentials too")
        return None
    if not chap_user or not chap_secret:
        raise ValueError("CHAP needs both a user name and a secret")
    if (mutual_user is None) != (mutual_secret is None) or mutual_user == "":
        raise ValueError("mutual CHAP needs both a user name and a secret")
    if mutual_secret is not None and mutual_secret == chap_secret:
        # RFC 7143 12.1.3: a secret used to authenticate initiators must not authenticate targets.
        raise ValueError("the mutual CHAP secret must differ from the initiator's secret")
    for value in (chap_user, chap_secret, mutual_user or "x", mutual_secret or "x"):
        if len(value) > 255 or "\0" in value:
            raise ValueError("CHAP names and secrets are 1..255 characters without NUL")
    return Credentials(chap_user, chap_secret, mutual_user, mutual_secret)


class AccessDenied(Exception):
    """The initiator is not on the target's ACL (login status 0x0202)."""


class Target:
    """One iSCSI target: an IQN, LUNs and who may log in."""

    def __init__(self, iqn: str, alias: str | None = None) -> None:
        self.iqn = normalize_name(iqn)
        if alias is not None and (len(alias) > 255 or "\0" in alias):
            raise ValueError("target alias too long")
        self.alias = alias
        self.luns: dict[int, LogicalUnit] = {}
        self._acl: dict[str, Credentials | None] = {}
        self.allow_any_initiator = False
        self.default_credentials: Credentials | None = None
        self.portal_groups: frozenset[int] | None = None  # None: every portal group
        self.removed = False

    # -- LUNs -----------------------------------------------------------------------

    def add_lun(self, lun_id: int, unit: LogicalUnit) -> None:
        """Serve ``unit`` as LUN ``lun_id`` (the caller opened it)."""
        if not 0 <= lun_id <= MAX_LUN:
            raise ValueError(f"LUN must be 0..{MAX_LUN}")
        current = self.luns.get(lun_id)
        if current is not None and current is not unit:
            raise ValueError(f"LUN {lun_id} of {self.iqn} is in use")
        self.luns[lun_id] = unit
        unit.luns = self.lun_ids  # REPORT LUNS sent to the unit lists the target's LUNs

    ensure_lun = add_lun  # adding the same unit again is a no-op

    def remove_lun(self, lun_id: int) -> LogicalUnit | None:
        """Stop serving LUN ``lun_id``; returns its unit (the caller closes it)."""
        return self.luns.pop(lun_id, None)

    def lun_ids(self) -> list[int]:
        return sorted(self.luns)

    # -- access -----------------------------------------------------------------------

    def set_acl(
        self,
        initiator_iqn: str,
        chap_user: str | None = None,
        chap_secret: str | None = None,
        mutual_user: str | None = None,
        mutual_secret: str | None = None,
    ) -> None:
        """Allow ``initiator_iqn``; with CHAP credentials it must authenticate."""
        creds = make_credentials(chap_user, chap_secret, mutual_user, mutual_secret)
        self._acl[normalize_name(initiator_iqn)] = creds

    ensure_acl = set_acl

    def remove_acl(self, initiator_iqn: str) -> bool:
        name = normalize_name(initiator_iqn)
        if name not in self._acl:
            return False
        del self._acl[name]
        return True

    def acl(self) -> dict[str, bool]:
        """Initiator name -> whether CHAP is required (secrets are never listed)."""
        return {name: creds is not None for name, creds in self._acl.items()}

    def set_default_chap(
        self,
        chap_user: str | None,
        chap_secret: str | None,
        mutual_user: str | None = None,
        mutual_secret: str | None = None,
    ) -> None:
        """Credentials for initiators let in by ``allow_any_initiator`` (None: no CHAP)."""
        self.default_credentials = make_credentials(
            chap_user, chap_secret, mutual_user, mutual_secret
        )

    def credentials_for(self, initiator_name: str) -> Credentials | None:
        """What ``initiator_name`` must present; AccessDenied when it may not log in."""
        try:
            name = normalize_name(initiator_name)
        except ValueError:
            raise AccessDenied(initiator_name) from None
        if name in self._acl:
            return self._acl[name]
        if self.allow_any_initiator:
            return self.default_credentials
        raise AccessDenied(initiator_name)

    def set_portal_groups(self, tags: Iterable[int] | None) -> None:
        """Reachable only through these portal groups (None: through all of them)."""
        if tags is None:
            self.portal_groups = None
            return
        groups = frozenset(check_tag(t) for t in tags)
        if not groups:
            raise ValueError("a target needs at least one portal group (None means all)")
        self.portal_groups = groups

    def reachable_through(self, tag: int) -> bool:
        return self.portal_groups is None or tag in self.portal_groups

    @property
    def chap_protected(self) -> bool:
        """Whether any initiator must use CHAP to log in (discovery then wants CHAP too)."""
        if self.allow_any_initiator and self.default_credentials is not None:
            return True
        return any(creds is not None for creds in self._acl.values())

    def visible_to(self, initiator_name: str) -> bool:
        """Whether discovery lists this target to ``initiator_name``."""
        try:
            self.credentials_for(initiator_name)
        except AccessDenied:
            return False
        return not self.removed

    def __repr__(self) -> str:
        return f"<Target {self.iqn} luns={self.lun_ids()}>"
