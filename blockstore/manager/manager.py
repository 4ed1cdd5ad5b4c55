"""The volume manager: every operation family in one object the API and the service use."""

from __future__ import annotations

from blockstore.manager.reconcile import ReconcileOps


class Manager(ReconcileOps):
    """Volumes, snapshots, attachments, types and QoS over one store, backend and driver.

    Call ``await start()`` once before serving (it reconciles and re-exports)
    and ``await close()`` at the end.
    """
