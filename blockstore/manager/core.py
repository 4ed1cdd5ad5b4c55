"""What every part of the manager shares: settings, the caller, background tasks, locks.

Operations answer as soon as their first transition is durable; the slow
part (copying bytes, exporting, backing up) runs as a background task of
the manager, and its end is one more durable transition. ``wait_idle``
lets tests and the service's shutdown wait for those tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from blockstore.backend import FileBackend
from blockstore.export.base import ExportDriver
from blockstore.manager.errors import Forbidden, NotFound
from blockstore.manager.quotas import CapacityRules
from blockstore.manager.records import Attachment, Record, Volume, VolumeType
from blockstore.manager.store import Store, Txn
from blockstore.manager.validate import lookup_id
from stratus.identity.names import PROJECT_ROLES

log = logging.getLogger("blockstore.manager")
T = TypeVar("T")
R = TypeVar("R", bound=Record)
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
    def from_config(cls, cfg: Any) -> Settings:
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
    def from_principal(cls, principal: Any) -> Caller:
        return cls(principal.project, principal.user, tuple(principal.roles))


class ManagerBase:
    """State and helpers every operation family uses."""

    def __init__(
        self,
        store: Store,
        backend: FileBackend,
        driver: ExportDriver | None,
        settings: Settings | None = None,
        *,
        objects: Any = None,
    ) -> None:
        self.store = store
        self.backend = backend
        self.driver = driver
        self.settings = settings or Settings()
        self.objects = objects  # backup object-store access (blockstore.backup.objects)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    # -- background work -----------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=what)
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._task_done, what))
        return task

    def _task_done(self, what: str, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", what, exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait until no background operation runs (those they start included)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel background work (a restart's reconcile resolves what it left)."""
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def lock(self, volume_id: str) -> asyncio.Lock:
        """Serialises export changes (attach, detach, extend) of one volume."""
        return self._locks.setdefault(volume_id, asyncio.Lock())

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    # -- lookups -------------------------------------------------------------------

    def target_iqn(self, volume_id: str) -> str:
        return f"{self.settings.iqn_prefix}:volume-{volume_id.lower()}"

    @staticmethod
    def must_get(txn: Txn, cls: type[R], caller: Caller, ident: str, what: str) -> R:
        rec = txn.get(cls, caller.project, ident) if lookup_id(ident) else None
        if rec is None:
            raise NotFound(f"{what} {ident[:80]} could not be found.")
        return rec

    @staticmethod
    def must_write(caller: Caller) -> None:
        if not caller.can_write:
            raise Forbidden("Policy doesn't allow this operation: the reader role is read-only.")

    @staticmethod
    def must_be_cloud_admin(caller: Caller) -> None:
        if not caller.is_cloud_admin:
            raise Forbidden("Policy doesn't allow this operation: admin of project admin only.")

    @staticmethod
    def attachments_of(txn: Txn, volume: Volume) -> list[Attachment]:
        return [a for a in txn.scan(Attachment, volume.project) if a.volume_id == volume.id]

    def volume_type(self, txn: Txn, type_id: str) -> VolumeType | None:
        return txn.get(VolumeType, "", type_id) if type_id else None
