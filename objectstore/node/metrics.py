"""Prometheus metrics of one storage node (``GET /metrics``).

Each node state has its own registry (several nodes may share a test
process), so nothing here is global. Request metrics are labelled by
method, endpoint kind (``o``, ``c``, ``a``, ``cu``, ``ro``...) and status;
worker metrics by worker name; device gauges by device. The registry, the
latency buckets and the exposition are the shared ones of :mod:`stratus.metrics`.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from stratus.metrics import CONTENT_TYPE, LATENCY_BUCKETS, new_registry, render


class NodeMetrics:
    """Every metric a node exports, in one registry."""

    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        r = self.registry = new_registry()
        self.requests = Counter(
            "stratus_node_requests", "Requests served.", ["method", "kind", "status"], registry=r
        )
        self.errors = Counter(
            "stratus_node_request_errors",
            "Requests answered 5xx (507 included).",
            ["method", "kind"],
            registry=r,
        )
        self.latency = Histogram(
            "stratus_node_request_seconds",
            "Time to answer a request (headers sent, for streamed bodies the whole body).",
            ["method", "kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.passes = Counter(
            "stratus_worker_passes",
            "Completed passes of a background worker.",
            ["worker"],
            registry=r,
        )
        self.pass_failures = Counter(
            "stratus_worker_pass_failures", "Passes that ended in an error.", ["worker"], registry=r
        )
        self.pass_seconds = Histogram(
            "stratus_worker_pass_seconds",
            "Duration of a worker pass.",
            ["worker"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200),
            registry=r,
        )
        self.last_pass = Gauge(
            "stratus_worker_last_pass_end_timestamp",
            "Unix time the last pass of the worker finished.",
            ["worker"],
            registry=r,
        )
        self.lag = Gauge(
            "stratus_replication_lag_seconds",
            "Seconds since the start of the last completed replication pass.",
            ["worker"],
            registry=r,
        )
        self.pushed = Counter(
            "stratus_replication_pushed",
            "Entries (objects, tombstones, metadata, container/account rows) pushed to peers.",
            ["worker"],
            registry=r,
        )
        self.pushed_bytes = Counter(
            "stratus_replication_pushed_bytes",
            "Body bytes pushed to peers.",
            ["worker"],
            registry=r,
        )
        self.handoffs_removed = Counter(
            "stratus_replication_handoff_removed",
            "Entries removed from a handoff device after every primary confirmed them.",
            ["worker"],
            registry=r,
        )
        self.handoff_partitions = Gauge(
            "stratus_replication_handoff_partitions",
            "Partitions held on a device that is not one of their primaries (last pass).",
            ["worker"],
            registry=r,
        )
        self.reclaimed = Counter(
            "stratus_replication_reclaimed",
            "Tombstones removed after the reclaim age.",
            ["worker"],
            registry=r,
        )
        self.quarantined = Counter(
            "stratus_objects_quarantined",
            "Object replicas found corrupt and moved to quarantine.",
            ["device", "by"],
            registry=r,
        )
        self.audited_bytes = Counter(
            "stratus_auditor_bytes", "Body bytes read and checked by the auditor.", registry=r
        )
        self.audited = Counter(
            "stratus_auditor_objects", "Object replicas checked by the auditor.", registry=r
        )
        self.expired = Counter(
            "stratus_expirer_expired", "Objects deleted because X-Delete-At passed.", registry=r
        )
        self.async_pending = Gauge(
            "stratus_async_pending",
            "Container updates queued for the updater.",
            ["device"],
            registry=r,
        )
        self.async_dropped = Counter(
            "stratus_async_dropped",
            "Container (object rows) and account (container stats) updates dropped because "
            "the receiving node refused them for good (a 4xx other than 404): logged as errors.",
            ["update"],
            registry=r,
        )
        self.device_failed = Gauge(
            "stratus_device_failed",
            "1 when the device was marked failed (I/O errors) or is unmounted.",
            ["device"],
            registry=r,
        )

    def worker_done(self, worker: str, result: dict[str, Any], seconds: float, end: float) -> None:
        self.passes.labels(worker).inc()
        self.pass_seconds.labels(worker).observe(seconds)
        self.last_pass.labels(worker).set(end)
        if "pushed" in result:
            self.pushed.labels(worker).inc(result["pushed"])
        if "pushed_bytes" in result:
            self.pushed_bytes.labels(worker).inc(result["pushed_bytes"])
        if "handoff_removed" in result:
            self.handoffs_removed.labels(worker).inc(result["handoff_removed"])
        if "handoff_partitions" in result:
            self.handoff_partitions.labels(worker).set(result["handoff_partitions"])
        if "reclaimed" in result:
            self.reclaimed.labels(worker).inc(result["reclaimed"])

    def render(self) -> bytes:
        return render(self.registry)
