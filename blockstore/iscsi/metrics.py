"""The built-in target's Prometheus families: live sessions, and I/O per LUN.

The data path only adds to each logical unit's plain-int
:class:`blockstore.scsi.unit.IoCounters`; :class:`TargetCollector` reads
them, and the session table, when ``/metrics`` is scraped. A LUN is named
by its target's IQN and LUN number (volume ids, never tenant names).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from blockstore.iscsi.server import TargetServer
from blockstore.iscsi.session import SessionType


class TargetCollector(Collector):
    """Families of one :class:`TargetServer`, built at scrape time."""

    def __init__(self, server: TargetServer) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        kinds = Counter(s.kind for s in self.server.sessions if not s.ended)
        sessions = GaugeMetricFamily(
            "stratus_iscsi_sessions", "Logged-in iSCSI sessions.", labels=["type"]
        )
        for kind in SessionType:
            sessions.add_metric([kind.value.lower()], kinds.get(kind, 0))
        labels = ["target", "lun", "op"]
        ops = CounterMetricFamily(
            "stratus_iscsi_lun_operations",
            "Media READ and WRITE commands per LUN (their rate is the LUN's IOPS).",
            labels=labels,
        )
        nbytes = CounterMetricFamily(
            "stratus_iscsi_lun_bytes", "Bytes read from and written to a LUN.", labels=labels
        )
        for target in self.server.targets:
            for lun, unit in list(target.luns.items()):
                c, key = unit.counters, [target.iqn, str(lun)]
                ops.add_metric([*key, "read"], c.reads)
                ops.add_metric([*key, "write"], c.writes)
                nbytes.add_metric([*key, "read"], c.read_bytes)
                nbytes.add_metric([*key, "write"], c.written_bytes)
        yield from (sessions, ops, nbytes)
