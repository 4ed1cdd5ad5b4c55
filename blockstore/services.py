"""The volume services wired together: one context, one object per resource family.

``blockstore.manager`` holds the records and the services over them (types,
volumes, snapshots, attachments, quotas, start-up reconcile); ``blockstore.backup``
holds backups and images, which use the manager's context and records. The manager
never imports the backup package: this module composes both, passing each service the
others it calls (volumes get the image source, the reconciler gets the backups' hook).
"""

from __future__ import annotations

from blockstore.backend import VolumeFiles
from blockstore.backup.images import Images
from blockstore.backup.objects import ObjectAccess
from blockstore.backup.ops import Backups
from blockstore.export.base import ExportDriver
from blockstore.manager.attachments import Attachments
from blockstore.manager.context import Context
from blockstore.manager.core import Settings
from blockstore.manager.exports import Exports
from blockstore.manager.migration import Migrations
from blockstore.manager.placement import Pool
from blockstore.manager.quotaops import Quotas
from blockstore.manager.reconcile import Reconciled, Reconciler
from blockstore.manager.snapshots import Snapshots
from blockstore.manager.store import Store
from blockstore.manager.types import VolumeTypes
from blockstore.manager.volumes import Volumes


class VolumeServices:
    """Every service of one volume service process over one store, backend and target
    driver (and, for backups and images, the object store).

    The API calls the services (``.volumes``, ``.snapshots``, ...). Call ``await
    start()`` once before serving (it reconciles and re-exports) and ``await close()``
    at the end.
    """

    def __init__(
        self,
        store: Store,
        backend: VolumeFiles,
        driver: ExportDriver | None,
        settings: Settings | None = None,
        *,
        objects: ObjectAccess | None = None,
        pool: Pool | None = None,
        host: str = "",
        image_api: str = "",
    ) -> None:
        """``pool``: several backend processes (``backend`` and ``driver`` route to them);
        ``host``: the in-process backend's ``host@backend#pool`` name otherwise;
        ``image_api``: the image API volumes are made from (``imageRef``; empty: none)."""
        ctx = Context(store, backend, driver, settings or Settings(), pool=pool, host=host)
        self.ctx = ctx
        self.exports = Exports(ctx)
        self.types = VolumeTypes(ctx, self.exports)
        self.images = Images(ctx, objects, image_api)
        self.volumes = Volumes(ctx, self.types, self.exports, self.images)
        self.snapshots = Snapshots(ctx, self.exports)
        self.attachments = Attachments(ctx, self.exports)
        self.quotas = Quotas(ctx)
        self.migrations = Migrations(ctx, self.exports)
        self.backups = Backups(ctx, objects, self.exports, self.types)
        self.reconciler = Reconciler(
            ctx, self.types, self.volumes, self.snapshots, self.exports, [self.backups.reconcile]
        )
        # The flat spelling of the commonest calls (scripts and tests use it); the API
        # calls the services themselves.
        self.store, self.backend, self.settings = store, backend, ctx.settings
        self.create_volume = self.volumes.create_volume
        self.get_volume = self.volumes.get_volume
        self.list_volumes = self.volumes.list_volumes
        self.update_volume = self.volumes.update_volume
        self.extend_volume = self.volumes.extend_volume
        self.delete_volume = self.volumes.delete_volume
        self.set_volume_metadata = self.volumes.set_volume_metadata
        self.delete_volume_metadata = self.volumes.delete_volume_metadata
        self.create_snapshot = self.snapshots.create_snapshot
        self.get_snapshot = self.snapshots.get_snapshot
        self.reserve = self.attachments.reserve
        self.get_attachment = self.attachments.get_attachment
        self.complete_attachment = self.attachments.complete_attachment
        self.delete_attachment = self.attachments.delete_attachment
        self.unreserve = self.attachments.unreserve
        self.begin_detaching = self.attachments.begin_detaching
        self.initialize_connection = self.attachments.initialize_connection
        self.terminate_connection = self.attachments.terminate_connection
        self.attach_legacy = self.attachments.attach_legacy
        self.detach_legacy = self.attachments.detach_legacy
        self.create_backup = self.backups.create_backup
        self.get_backup = self.backups.get_backup
        self.delete_backup = self.backups.delete_backup
        self.restore_backup = self.backups.restore_backup
        self.verify_backup = self.backups.verify_backup
        self.backup_has_dependents = self.backups.backup_has_dependents
        self.create_type = self.types.create_type
        self.create_qos = self.types.create_qos
        self.update_qos = self.types.update_qos
        self.associate_qos = self.types.associate_qos

    async def start(self) -> Reconciled:
        """Prepare the store and the backend, reconcile, re-export. Call once, first."""
        return await self.reconciler.start()

    async def wait_idle(self) -> None:
        """Wait until no background operation runs (those they start included)."""
        await self.ctx.wait_idle()

    async def close(self) -> None:
        """Cancel background work (a restart's reconcile resolves what it left)."""
        await self.ctx.close()
