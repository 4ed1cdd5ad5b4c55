"""The proxy process's wiring (`stratus proxy`): limits on slow and greedy clients and on
failed authentications, through the Swift and S3 listeners it really opens."""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import swiftclient
from botocore.exceptions import ClientError

from stratus.cli.proxy_service import serve_proxy
from tests.functional.objectstore.conftest import Cluster, ClusterFactory, make_cluster
from tests.helpers import slowclient
from tests.helpers.net import free_port
from tests.helpers.s3client import s3_client

__all__ = ["make_cluster"]  # the fixture, shared with the object store's tests

HOST = "127.0.0.1"


@pytest.fixture
async def proxy(make_cluster: ClusterFactory) -> AsyncIterator[tuple[Cluster, Any]]:
    """The cluster's storage nodes behind a proxy started as `stratus proxy` starts it."""
    cluster = await make_cluster(proxy=False)
    cfg = copy.deepcopy(cluster.config)
    cfg.proxy.port, cfg.s3.port = free_port(), free_port()
    cfg.http.header_timeout = 2.0
    cfg.http.body_timeout = 0.5
    cfg.http.max_connections = 8
    cfg.identity.failed_auth_burst = 3
    stop = asyncio.Event()
    task = asyncio.create_task(serve_proxy(cfg, stop))
    for _ in range(200):
        try:
            if (await slowclient.get(HOST, cfg.proxy.port, "/healthcheck")).endswith(b"OK"):
                break
        except OSError:
            await asyncio.sleep(0.05)
    yield cluster, cfg
    stop.set()
    await asyncio.wait_for(task, 30)


async def test_half_a_header_is_cut_off_on_both_apis(proxy: tuple[Cluster, Any]) -> None:
    _cluster, cfg = proxy
    for port in (cfg.proxy.port, cfg.s3.port):
        closed, after = await slowclient.half_header(HOST, port, wait=5.0)
        assert closed and 1.5 <= after < 4.5, port


async def test_a_stalled_object_upload_is_cut_off(proxy: tuple[Cluster, Any]) -> None:
    cluster, cfg = proxy
    token = cluster.token("p")
    await cluster.core.put_container("AUTH_p", "c")
    reader, writer = await asyncio.open_connection(HOST, cfg.proxy.port)
    try:
        head = (
            f"PUT /v1/AUTH_p/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
            "Content-Length: 1000\r\n\r\n"
        )
        writer.write(head.encode() + b"x" * 10)
        await writer.drain()
        closed, got, after = await slowclient.closed_within(reader, 5.0)
        assert closed and got == b"" and after < 3.0
    finally:
        writer.close()


async def test_connections_past_the_cap_are_refused(proxy: tuple[Cluster, Any]) -> None:
    _cluster, cfg = proxy
    port = cfg.proxy.port
    hogs = await slowclient.idle_connections(HOST, port, 8)
    try:
        await asyncio.sleep(0.1)
        answer = await slowclient.refused(HOST, port)
        assert answer is not None and answer.startswith(b"HTTP/1.1 503")
        # the S3 listener has its own cap
        assert (await slowclient.get(HOST, cfg.s3.port, "/")).startswith(b"HTTP/1.1 ")
    finally:
        for w in hogs:
            w.close()
    for _ in range(50):
        answer = await slowclient.get(HOST, port, "/healthcheck")
        if answer.endswith(b"OK"):
            break
        await asyncio.sleep(0.05)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"OK")


async def test_failed_logins_are_limited_swift_429_then_s3_slowdown(
    proxy: tuple[Cluster, Any],
) -> None:
    cluster, cfg = proxy
    cluster.token("p", "bob")
    key = cluster.key("p", "bob")
    auth_url = f"http://{HOST}:{cfg.proxy.port}/auth/v1.0"

    def login(k: str) -> int:
        try:
            swiftclient.client.get_auth(auth_url, "p:bob", k, timeout=30, retries=0)
        except swiftclient.ClientException as exc:
            return int(exc.http_status or 0)
        return 200

    assert await asyncio.to_thread(login, key) == 200  # a good login costs nothing
    statuses = [await asyncio.to_thread(login, "guess-key") for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert await asyncio.to_thread(login, key) == 429  # refused unchecked while over the limit
    raw = await slowclient.get(
        HOST, cfg.proxy.port, "/auth/v1.0", f"X-Auth-User: p:bob\r\nX-Auth-Key: {key}\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 429")
    wait = re.search(rb"\r\nRetry-After: (\d+)\r\n", raw)
    assert wait is not None and 1 <= int(wait.group(1)) <= 10  # one failure back in 10 s

    access, secret = cluster.identity.create_credential("p", "bob")
    s3 = s3_client(f"http://{HOST}:{cfg.s3.port}", access, secret)
    with pytest.raises(ClientError) as exc:  # the same address, the same budget
        await asyncio.to_thread(s3.list_buckets)
    assert exc.value.response["Error"]["Code"] == "SlowDown"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


async def test_bad_s3_signatures_alone_get_slowdown_then_swift_429(
    proxy: tuple[Cluster, Any],
) -> None:
    """Guessing S3 secrets spends the address's budget: SlowDown before any check, then the
    Swift login from the same address is refused too (one budget per address)."""
    cluster, cfg = proxy
    cluster.token("p", "bob")
    access, secret = cluster.identity.create_credential("p", "bob")
    endpoint = f"http://{HOST}:{cfg.s3.port}"
    guess = s3_client(endpoint, access, "not-" + secret)

    def code(client: Any) -> str:
        try:
            client.list_buckets()
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "OK"

    codes = [await asyncio.to_thread(code, guess) for _ in range(4)]
    assert codes == ["SignatureDoesNotMatch"] * 3 + ["SlowDown"]
    # the right secret is refused unchecked too while the address is over its budget
    assert await asyncio.to_thread(code, s3_client(endpoint, access, secret)) == "SlowDown"
    raw = await slowclient.get(
        HOST,
        cfg.proxy.port,
        "/auth/v1.0",
        f"X-Auth-User: p:bob\r\nX-Auth-Key: {cluster.key('p', 'bob')}\r\n",
    )
    assert raw.startswith(b"HTTP/1.1 429")
