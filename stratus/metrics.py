"""Prometheus metrics for every Stratus service: one registry per service, no globals.

Each HTTP service owns a :class:`ServiceMetrics` (several services may share a
test process, so nothing is module-global) and answers ``GET /metrics`` with
it, unauthenticated as the storage nodes do: the exposition holds counts and
timings only, and every label is low-cardinality (API, operation template,
status, a record status) -- never an account, container, object or tenant name.

The data path stays cheap: a request adds to plain ints and a float in
:class:`RequestStats`; the Prometheus families are built from them only when
``/metrics`` is scraped (a custom collector). Services add their own gauges
the same way, with :meth:`ServiceMetrics.add_collector` or :meth:`ServiceMetrics.gauge`.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Methods kept as labels; any other method is counted as ``OTHER`` (label cardinality).
METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "COPY"})

Operation = Callable[[web.Request], str]


def new_registry() -> CollectorRegistry:
    """A registry of its own (never the process-global default one).

    Collectors are not run when registered (no ``auto_describe``): the custom
    ones read live state (records, sessions) that may not be open yet.
    """
    return CollectorRegistry()


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition of ``registry``."""
    return generate_latest(registry)


def method_label(request: web.Request) -> str:
    method = request.method
    return method if method in METHODS else "OTHER"


def route_operation(request: web.Request) -> str:
    """``METHOD /route/{template}``: the matched route's template, never the concrete path."""
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else "unmatched"
    return f"{method_label(request)} {path}"


class _OpStats:
    """Bytes and latency of one (api, operation), in plain numbers."""

    __slots__ = ("buckets", "bytes_in", "bytes_out", "seconds")

    def __init__(self, nbuckets: int) -> None:
        self.buckets = [0] * nbuckets
        self.bytes_in = 0
        self.bytes_out = 0
        self.seconds = 0.0


class RequestStats(Collector):
    """Requests by API, operation and status; latency histograms; body bytes in and out.

    :meth:`record` is what a request costs (dict look-ups and int additions);
    :meth:`collect` turns the numbers into families when scraped. Everything
    runs on the service's event loop, so no lock is needed.
    """

    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        self._bounds = tuple(float(b) for b in buckets)
        self._le = [*(str(b) for b in self._bounds), "+Inf"]
        self._counts: dict[tuple[str, str, int], int] = {}
        self._ops: dict[tuple[str, str], _OpStats] = {}

    def record(
        self, api: str, op: str, status: int, seconds: float, bytes_in: int, bytes_out: int
    ) -> None:
        key = (api, op, status)
        self._counts[key] = self._counts.get(key, 0) + 1
        stats = self._ops.get((api, op))
        if stats is None:
            stats = self._ops[(api, op)] = _OpStats(len(self._le))
        stats.buckets[bisect_left(self._bounds, seconds)] += 1
        stats.seconds += seconds
        stats.bytes_in += bytes_in
        stats.bytes_out += bytes_out

    def collect(self) -> Iterator[Metric]:
        labels = ["api", "operation"]
        requests = CounterMetricFamily(
            "stratus_http_requests", "HTTP requests answered.", labels=[*labels, "status"]
        )
        for (api, op, status), n in list(self._counts.items()):
            requests.add_metric([api, op, str(status)], n)
        latency = HistogramMetricFamily(
            "stratus_http_request_duration_seconds",
            "Time to answer a request (a streamed body included).",
            labels=labels,
        )
        bytes_in = CounterMetricFamily(
            "stratus_http_request_bytes", "Request body bytes received.", labels=labels
        )
        bytes_out = CounterMetricFamily(
            "stratus_http_response_bytes",
            "Response body bytes (Content-Length, or what a chunked body wrote).",
            labels=labels,
        )
        for (api, op), s in list(self._ops.items()):
            cumulative, acc = [], 0
            for le, n in zip(self._le, s.buckets, strict=True):
                acc += n
                cumulative.append((le, acc))
            latency.add_metric([api, op], cumulative, s.seconds)
            bytes_in.add_metric([api, op], s.bytes_in)
            bytes_out.add_metric([api, op], s.bytes_out)
        yield from (requests, latency, bytes_in, bytes_out)


class CallbackCollector(Collector):
    """Families built by a function at scrape time (record counts, live sessions...)."""

    def __init__(self, build: Callable[[], Iterable[Metric]]) -> None:
        self._build = build

    def collect(self) -> Iterator[Metric]:
        yield from self._build()


def gauge_family(
    name: str, doc: str, labels: list[str], values: Mapping[tuple[str, ...], float]
) -> GaugeMetricFamily:
    """A gauge family from ``{label values: value}``."""
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, value in values.items():
        family.add_metric(list(key), value)
    return family


def count_by(values: Iterable[str], known: Iterable[str] = ()) -> dict[tuple[str, ...], int]:
    """``{(value,): how many}`` for a gauge by status; every ``known`` value is present
    (0 included), so a series does not vanish when its count drops to nothing."""
    counts = Counter(values)
    for value in known:
        counts.setdefault(value, 0)
    return {(value,): n for value, n in sorted(counts.items())}


def response_bytes(request: web.Request, resp: web.StreamResponse | None) -> int:
    if resp is None or request.method == "HEAD":
        return 0
    length = resp.content_length
    return length if length is not None else resp.body_length


class ServiceMetrics:
    """One service's registry: request metrics, its own gauges, and the ``/metrics`` answer."""

    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        self.registry = new_registry()
        self.requests = RequestStats()
        self.registry.register(self.requests)

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def gauge(
        self,
        name: str,
        doc: str,
        labels: list[str],
        read: Callable[[], Mapping[tuple[str, ...], float]],
    ) -> None:
        """A gauge whose values ``read()`` gives at scrape time (``{label values: value}``)."""
        self.add_collector(CallbackCollector(lambda: [gauge_family(name, doc, labels, read())]))

    def middleware(self, api: str, operation: Operation = route_operation) -> Middleware:
        """An aiohttp middleware that counts every request of the app as ``api``."""
        record = self.requests.record

        @web.middleware
        async def count_request(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.monotonic()
            resp: web.StreamResponse | None = None
            status = 500
            try:
                resp = await handler(request)
                status = resp.status
                return resp
            except web.HTTPException as exc:
                status = exc.status
                raise
            except asyncio.CancelledError:
                status = 499  # the client went away (nginx's code, as the nodes use)
                raise
            finally:
                record(
                    api,
                    operation(request),
                    status,
                    time.monotonic() - started,
                    request.content.total_bytes,
                    response_bytes(request, resp),
                )

        return count_request

    def attach(
        self, app: web.Application, api: str, operation: Operation = route_operation
    ) -> None:
        """Count ``app``'s requests (outermost middleware, so it sees the final status)."""
        app.middlewares.insert(0, self.middleware(api, operation))

    def install(
        self, app: web.Application, api: str, operation: Operation = route_operation
    ) -> ServiceMetrics:
        """:meth:`attach`, keep this object as ``app[METRICS]`` and route ``GET /metrics``.

        Call it before a catch-all route is added, so ``/metrics`` is matched first.
        """
        self.attach(app, api, operation)
        app[METRICS] = self
        app.router.add_get("/metrics", self.handle)
        return self

    def render(self) -> bytes:
        return render(self.registry)

    async def handle(self, request: web.Request) -> web.Response:
        """``GET /metrics``: the text exposition.

        Built on the event loop: the collectors read state the loop owns (request
        counts, iSCSI sessions and LUN counters), which a thread could see half-changed.
        """
        return web.Response(body=self.render(), headers={"Content-Type": self.content_type})


METRICS: web.AppKey[ServiceMetrics] = web.AppKey("stratus_metrics", ServiceMetrics)
