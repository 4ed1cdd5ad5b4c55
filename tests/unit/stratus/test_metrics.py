"""The shared request metrics: what the middleware counts, and the exposition it builds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from stratus.metrics import (
    METRICS,
    CallbackCollector,
    RequestStats,
    ServiceMetrics,
    count_by,
    new_registry,
    render,
)
from tests.helpers.metrics import parse, scrape, value
from tests.helpers.net import serve_app


def test_record_fills_counts_bytes_and_cumulative_buckets() -> None:
    stats = RequestStats(buckets=(0.1, 1.0))
    registry = new_registry()
    registry.register(stats)
    stats.record("swift", "GET object", 200, 0.05, 0, 4096)
    stats.record("swift", "GET object", 200, 0.1, 0, 10)  # on the bound: le="0.1"
    stats.record("swift", "GET object", 404, 2.0, 0, 0)
    stats.record("s3", "PutObject", 200, 0.5, 4096, 0)
    got = parse(render(registry).decode())
    assert value(got, "stratus_http_requests_total", api="swift", status="200") == 2
    assert value(got, "stratus_http_requests_total", status="404") == 1
    b = "stratus_http_request_duration_seconds_bucket"
    assert value(got, b, operation="GET object", le="0.1") == 2
    assert value(got, b, operation="GET object", le="1.0") == 2
    assert value(got, b, operation="GET object", le="+Inf") == 3
    assert value(got, "stratus_http_request_duration_seconds_count", api="s3") == 1
    assert value(got, "stratus_http_response_bytes_total", operation="GET object") == 4106
    assert value(got, "stratus_http_request_bytes_total", operation="PutObject") == 4096


def test_count_by_keeps_known_values_at_zero() -> None:
    assert count_by(["a", "b", "a"], ["c"]) == {("a",): 2, ("b",): 1, ("c",): 0}


async def _echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read())


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("handler failed")


async def test_middleware_counts_route_templates_statuses_and_bytes() -> None:
    app = web.Application()
    metrics = ServiceMetrics().install(app, "demo")
    app.router.add_put("/things/{name}", _echo)
    app.router.add_get("/boom", _boom)
    assert app[METRICS] is metrics
    async with serve_app(app) as url, aiohttp.ClientSession() as s:
        for name in ("a", "b"):
            async with s.put(f"{url}/things/{name}", data=b"x" * 1000) as r:
                assert r.status == 200
        async with s.get(f"{url}/nowhere") as r:
            assert r.status == 404
        async with s.get(f"{url}/boom") as r:
            assert r.status == 500
        await asyncio.sleep(0)
        got = await scrape(url)
    n = "stratus_http_requests_total"
    assert value(got, n, api="demo", operation="PUT /things/{name}", status="200") == 2
    assert value(got, n, operation="GET unmatched", status="404") == 1
    assert value(got, n, operation="GET /boom", status="500") == 1
    assert value(got, "stratus_http_request_bytes_total", operation="PUT /things/{name}") == 2000
    assert value(got, "stratus_http_response_bytes_total", operation="PUT /things/{name}") == 2000
    # no concrete path (a name) is ever a label value
    assert not any("/things/a" in str(labels) for s in got.values() for labels, _ in s)


def test_docs_name_every_metric_of_the_shared_collectors(tmp_path: Path) -> None:
    """docs/metrics.md lists what the request stats, the nodes, the volume records and the
    iSCSI target export (the other services' gauges are checked by their functional tests)."""
    from blockstore.iscsi import TargetServer
    from blockstore.iscsi.metrics import TargetCollector
    from blockstore.manager import Store
    from blockstore.metrics import record_families
    from objectstore.node.metrics import NodeMetrics

    registry = new_registry()
    store = Store(tmp_path / "records")
    try:
        registry.register(RequestStats())
        registry.register(TargetCollector(TargetServer("127.0.0.1", 0)))
        registry.register(CallbackCollector(lambda: list(record_families(store))))
        text = render(registry).decode() + NodeMetrics().render().decode()
    finally:
        store.close()
    docs = (Path(__file__).resolve().parents[3] / "docs" / "metrics.md").read_text()
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert len(families) > 20
    for name, kind in families.items():
        if name.endswith("_created"):
            continue  # prometheus_client's creation time of an unlabelled counter
        shown = f"{name}_total" if kind == "counter" else name
        assert f"`{shown}`" in docs, shown
