"""The last hour of the storage nodes' Prometheus metrics, sampled by the console itself.

Every :data:`INTERVAL` seconds the console reads each local node's
``/metrics`` (the same text Prometheus scrapes) and keeps the cluster-wide
totals of a few counters in a bounded ring buffer (:data:`KEEP` samples, one
hour): requests, request seconds (sum and count of the latency histogram)
and bytes moved by the background workers (replication pushes and the
auditor's reads). Rates are the differences between neighbouring samples,
so a restarted node (its counters back at 0) only costs one point.
Nothing is written to disk; a restarted console starts an empty hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("stratus.console")

INTERVAL = 10.0
KEEP = int(3600 / INTERVAL) + 1
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5)
MAX_METRICS = 4 * 1024 * 1024  # a node's /metrics text is a few KiB; never read more than this


@dataclass(frozen=True)
class Sample:
    """Cluster-wide counter totals at one moment (only nodes that answered)."""

    at: float
    requests: float
    seconds: float
    answered: float  # the latency histogram's count
    bytes: float
    nodes: int


@dataclass(frozen=True)
class Point:
    at: float
    value: float


def totals(text: str) -> tuple[float, float, float, float]:
    """requests, latency sum, latency count, worker bytes of one node's /metrics text."""
    req = secs = count = moved = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "stratus_node_requests_total":
                req += s.value
            elif s.name == "stratus_node_request_seconds_sum":
                secs += s.value
            elif s.name == "stratus_node_request_seconds_count":
                count += s.value
            elif s.name in (
                "stratus_replication_pushed_bytes_total",
                "stratus_auditor_bytes_total",
            ):
                moved += s.value
    return req, secs, count, moved


class Sampler:
    """The ring buffer and the task that fills it."""

    def __init__(self, nodes: tuple[str, ...], keep: int = KEEP) -> None:
        self.nodes = nodes
        self.samples: deque[Sample] = deque(maxlen=keep)
        self._task: asyncio.Task[None] | None = None

    async def sample_once(self, http: aiohttp.ClientSession) -> None:
        async def one(url: str) -> tuple[float, float, float, float] | None:
            try:
                async with http.get(f"{url}/metrics", timeout=FETCH_TIMEOUT) as resp:
                    if resp.status != 200:
                        return None
                    raw = await resp.content.read(MAX_METRICS)
            except (TimeoutError, aiohttp.ClientError):
                return None
            try:
                return totals(raw.decode("utf-8", "replace"))
            except ValueError:
                return None

        found = [r for r in await asyncio.gather(*(one(n) for n in self.nodes)) if r]
        self.samples.append(
            Sample(
                time.time(),
                sum(r[0] for r in found),
                sum(r[1] for r in found),
                sum(r[2] for r in found),
                sum(r[3] for r in found),
                len(found),
            )
        )

    async def run(self, interval: float = INTERVAL) -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    await self.sample_once(http)
                except Exception:  # never let one bad sample end the history
                    log.exception("sampling the nodes' metrics failed")
                await asyncio.sleep(interval)

    def start(self) -> None:
        if self._task is None and self.nodes:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def series(self) -> dict[str, list[Point]]:
        """Requests/s, mean latency (ms) and worker bytes/s between neighbouring samples."""
        out: dict[str, list[Point]] = {"rate": [], "latency": [], "bytes": []}
        items = list(self.samples)
        for a, b in itertools.pairwise(items):
            dt = b.at - a.at
            if dt <= 0 or a.nodes != b.nodes or b.requests < a.requests:
                continue  # a node came or went, or restarted: no honest difference here
            out["rate"].append(Point(b.at, (b.requests - a.requests) / dt))
            answered = b.answered - a.answered
            if answered > 0:
                out["latency"].append(Point(b.at, 1000 * (b.seconds - a.seconds) / answered))
            else:
                out["latency"].append(Point(b.at, 0.0))
            out["bytes"].append(Point(b.at, max(0.0, b.bytes - a.bytes) / dt))
        return out


SAMPLER: web.AppKey[Sampler] = web.AppKey("console_sampler", Sampler)
