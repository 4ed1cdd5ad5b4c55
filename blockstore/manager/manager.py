"""The volume manager: every operation family in one object the API and the service use."""

from __future__ import annotations

from blockstore.backup.images import ImageOps
from blockstore.manager.quotaops import QuotaOps
from blockstore.manager.reconcile import ReconcileOps


class Manager(ImageOps, ReconcileOps, QuotaOps):
    """Volumes, snapshots, attachments, backups, types, QoS and quotas over one store,
    backend and target driver (and, for backups and images, the object store).

    Call ``await start()`` once before serving (it reconciles and re-exports)
    and ``await close()`` at the end.
    """
