"""What every volume service shares that is not state: settings, the caller and its
policy checks (the state they share is :class:`blockstore.manager.context.Context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from blockstore.manager.errors import Forbidden
from blockstore.manager.quotas import CapacityRules
from stratus.identity.names import PROJECT_ROLES

if TYPE_CHECKING:
    from stratus.config import Config
    from stratus.identity import Principal

DEFAULT_TYPE = "__DEFAULT__"
GiB = 1024**3


@dataclass(frozen=True)
class BackupSettings:
    container: str = "volume_backups"
    chunk_size: int = 4 * 1024 * 1024
    compression: str = "zstd"
    concurrency: int = 8


@dataclass
class Settings:
    """The manager's knobs (``from_config`` reads them from stratus.config)."""

    quota_defaults: dict[str, int] = field(
        default_factory=lambda: {
            "volumes": 10,
            "gigabytes": 1000,
            "snapshots": 10,
            "backups": 10,
            "backup_gigabytes": 1000,
        }
    )
    capacity: CapacityRules = field(default_factory=CapacityRules)
    max_volume_gb: int = 16384
    iqn_prefix: str = "iqn.2026-11.io.stratus"
    backup: BackupSettings = field(default_factory=BackupSettings)

    @classmethod
    def from_config(cls, cfg: Config) -> Settings:
        v = cfg.volume
        return cls(
            quota_defaults={
                "volumes": v.quota_volumes,
                "gigabytes": v.quota_gigabytes,
                "snapshots": v.quota_snapshots,
                "backups": v.quota_backups,
                "backup_gigabytes": v.quota_backup_gigabytes,
            },
            capacity=CapacityRules(v.max_over_subscription_ratio, v.reserved_percentage),
            max_volume_gb=v.max_volume_gb,
            iqn_prefix=cfg.iscsi.iqn_prefix,
            backup=BackupSettings(
                v.backup_container,
                v.backup_chunk_size,
                v.backup_compression,
                v.backup_concurrency,
            ),
        )


@dataclass(frozen=True)
class Caller:
    """Who asks: a user of a project with its roles (from an identity token)."""

    project: str
    user: str
    roles: tuple[str, ...] = ("member",)
    # The request also carried a service token (X-Service-Token of a cloud admin): the
    # compute service acting for its servers, which alone ends the attachments it made.
    service: bool = False

    @property
    def can_write(self) -> bool:
        return "admin" in self.roles or "member" in self.roles

    @property
    def can_read(self) -> bool:
        """An ACL-only user (role ``acl-only``) has no rights in the volume service."""
        return any(role in PROJECT_ROLES for role in self.roles)

    @property
    def is_cloud_admin(self) -> bool:
        """Admin of the ``admin`` project: manages types, QoS specs and quotas."""
        return self.project == "admin" and "admin" in self.roles

    @classmethod
    def from_principal(cls, principal: Principal) -> Caller:
        return cls(principal.project, principal.user, tuple(principal.roles))


def must_write(caller: Caller) -> None:
    """A reader (or an ACL-only user) changes nothing."""
    if not caller.can_write:
        raise Forbidden("Policy doesn't allow this operation: the reader role is read-only.")


def must_be_cloud_admin(caller: Caller) -> None:
    """Types, QoS specs, quotas and status resets are the cloud admin's."""
    if not caller.is_cloud_admin:
        raise Forbidden("Policy doesn't allow this operation: admin of project admin only.")
