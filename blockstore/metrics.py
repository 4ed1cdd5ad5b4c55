"""The volume service's own metrics: volumes and attachments by status, and the target's.

Request metrics come from the API app (:mod:`stratus.metrics`); these
families are added to the same registry and read at scrape time, so no
volume operation pays for them: one read transaction over the records, and
the built-in target's session table and per-LUN counters
(:mod:`blockstore.iscsi.metrics`). LIO keeps its own counters (none here).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from blockstore.iscsi import TargetServer
from blockstore.iscsi.metrics import TargetCollector
from blockstore.manager import Store, states
from blockstore.manager.records import Attachment, Volume
from stratus.metrics import CallbackCollector, ServiceMetrics, count_by, gauge_family

ATTACHMENT_STATES = (states.ATT_RESERVED, states.ATT_ATTACHING, states.ATT_ATTACHED,
                     states.ATT_DETACHING)  # fmt: skip


def record_families(store: Store) -> Iterator[Metric]:
    """Volumes and attachments by status (every known status, 0 included)."""
    volumes, attachments = store.read(
        lambda txn: (
            [v.status for v in txn.scan(Volume)],
            [a.status for a in txn.scan(Attachment)],
        )
    )
    yield gauge_family(
        "stratus_volumes", "Volumes by status.", ["status"], count_by(volumes, states.VOLUME_STATES)
    )
    yield gauge_family(
        "stratus_volume_attachments",
        "Volume attachments by status.",
        ["status"],
        count_by(attachments, ATTACHMENT_STATES),
    )


def register(metrics: ServiceMetrics, store: Store, server: TargetServer | None) -> None:
    """Add the records' gauges, and the built-in target's families when it runs here."""
    metrics.add_collector(CallbackCollector(lambda: record_families(store)))
    if server is not None:
        metrics.add_collector(TargetCollector(server))
