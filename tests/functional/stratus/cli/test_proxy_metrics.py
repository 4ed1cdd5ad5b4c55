"""The proxy's /metrics (`stratus proxy` wiring): both APIs' requests, by API, operation and
status, with latency and bytes, in one registry served on the Swift port."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.functional.objectstore.conftest import Cluster
from tests.functional.stratus.cli.test_proxy_service import make_cluster, proxy
from tests.helpers.metrics import scrape, value
from tests.helpers.s3client import s3_client

__all__ = ["make_cluster", "proxy"]  # the fixtures, shared with the proxy's wiring tests

HOST = "127.0.0.1"
BODY = b"m" * 4096


async def test_swift_and_s3_requests_move_their_counters(proxy: tuple[Cluster, Any]) -> None:
    cluster, cfg = proxy
    base = f"http://{HOST}:{cfg.proxy.port}"
    before = await scrape(base)
    token = cluster.token("p", "bob")
    obj = f"{base}/v1/AUTH_p/tenant-private-name/secret-object"
    async with aiohttp.ClientSession(headers={"X-Auth-Token": token}) as s:
        async with s.put(obj.rsplit("/", 1)[0]) as r:
            assert r.status == 201
        async with s.put(obj, data=BODY) as r:
            assert r.status == 201
        async with s.get(obj) as r:
            assert await r.read() == BODY

    access, secret = cluster.identity.create_credential("p", "bob")
    s3 = s3_client(f"http://{HOST}:{cfg.s3.port}", access, secret)
    await asyncio.to_thread(s3.put_object, Bucket="tenant-private-name", Key="k", Body=BODY)
    got = await asyncio.to_thread(s3.get_object, Bucket="tenant-private-name", Key="k")
    assert got["Body"].read() == BODY

    after = await scrape(base)
    n = "stratus_http_requests_total"

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(n, api="swift", operation="PUT container", status="201") == 1
    assert moved(n, api="swift", operation="PUT object", status="201") == 1
    assert moved(n, api="swift", operation="GET object", status="200") == 1
    assert moved(n, api="s3", operation="PutObject", status="200") == 1
    assert moved(n, api="s3", operation="GetObject", status="200") == 1
    h = "stratus_http_request_duration_seconds_count"
    assert moved(h, api="swift", operation="PUT object") == 1
    assert moved(h, api="s3", operation="GetObject") == 1
    assert moved("stratus_http_request_bytes_total", api="swift", operation="PUT object") == 4096
    assert moved("stratus_http_response_bytes_total", api="swift", operation="GET object") == 4096
    assert moved("stratus_http_request_bytes_total", api="s3", operation="PutObject") >= 4096
    assert moved("stratus_http_response_bytes_total", api="s3", operation="GetObject") == 4096
    # Counts only: no account, container or object name is a label value.
    text = str(after)
    assert "tenant-private-name" not in text and "AUTH_p" not in text and "secret" not in text


async def test_metrics_path_on_the_s3_port_is_a_bucket(proxy: tuple[Cluster, Any]) -> None:
    _cluster, cfg = proxy
    async with aiohttp.ClientSession() as s, s.get(f"http://{HOST}:{cfg.s3.port}/metrics") as r:
        # An anonymous ListObjects of a bucket "metrics" (there is none), never the exposition.
        assert r.status == 404 and r.content_type == "application/xml"
        assert "stratus_http" not in await r.text()


async def test_the_proxy_says_which_ring_versions_it_places_with(
    proxy: tuple[Cluster, Any],
) -> None:
    cluster, cfg = proxy
    got = await scrape(f"http://{HOST}:{cfg.proxy.port}")
    for name in ("account", "container", "object"):
        want = getattr(cluster.rings, name).ring_version
        assert want >= 1
        assert value(got, "stratus_proxy_ring_version", ring=name) == want
