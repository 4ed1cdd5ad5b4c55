"""A real object store cluster on loopback, in this test's event loop.

``make_cluster(nodes=3, devices_per_node=1, replicas=3)`` builds rings for
storage nodes on free loopback ports, starts each node's real aiohttp app,
a ``ProxyCore`` over a keep-alive ``NodeClient``, an identity store, and
(``proxy=True``, the default) the native Swift app on its own port.
``cluster`` is the default three-node cluster.

A ``Cluster`` can stop and restart a node (``await c.stop_node(1)``), hand
out tokens (``c.token("proj", role="reader")``) and its ``url`` is the
proxy's base URL (``{url}/v1/AUTH_<project>/...``). ``swift`` is a small
HTTP helper bound to that URL: ``r = await swift("PUT", "/v1/AUTH_p/c",
token=t)`` gives ``r.status``, ``r.headers``, ``r.body``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDictProxy
from yarl import URL

from objectstore.client import NodeClient
from objectstore.node.device import DeviceConfig, make_hasher
from objectstore.node.server import NodeSettings, make_app
from objectstore.proxy.core import ProxyCore, Rings
from ring import build_cluster_rings
from stratus.config import Config
from stratus.identity import AlreadyExists, IdentityStore, NotFound
from tests.helpers.net import free_port

HOST = "127.0.0.1"
PREFIX, SUFFIX = "test-prefix", "test-suffix"


@dataclass
class Node:
    """One storage node process-equivalent: an aiohttp app on its own port."""

    index: int
    port: int
    settings: NodeSettings
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self.runner is not None:
            return
        runner = web.AppRunner(make_app(self.settings), access_log=None, shutdown_timeout=5)
        await runner.setup()
        await web.TCPSite(runner, HOST, self.port, reuse_address=True).start()
        self.runner = runner

    async def stop(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()


@dataclass
class Cluster:
    root: Path
    config: Config
    rings: Rings
    nodes: list[Node]
    client: NodeClient
    core: ProxyCore
    identity: IdentityStore
    url: str = ""
    _proxy: web.AppRunner | None = None
    _keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def node_of(self, dev: Any) -> Node:
        """The node serving a ring device."""
        return next(n for n in self.nodes if n.port == dev.port)

    async def stop_node(self, index: int) -> None:
        await self.nodes[index].stop()

    async def start_node(self, index: int) -> None:
        await self.nodes[index].start()

    def token(self, project: str, user: str = "user", role: str = "member") -> str:
        """A live token for ``project:user`` (both created on first use)."""
        with contextlib.suppress(AlreadyExists):
            self.identity.create_project(project)
        try:
            self.identity.get_user(project, user)
            self.identity.set_role(project, user, role)
        except NotFound:
            self._keys[(project, user)] = self.identity.create_user(project, user, role=role)
        token, _principal = self.identity.issue_token(project, user, 3600)
        return token

    def key(self, project: str, user: str) -> str:
        """The key of a user made by :meth:`token` (for /auth/v1.0 tests)."""
        return self._keys[(project, user)]

    async def close(self) -> None:
        if self._proxy is not None:
            await self._proxy.cleanup()
        for node in self.nodes:
            await node.stop()
        await self.client.session.close()
        self.identity.close()


ClusterFactory = Callable[..., Awaitable[Cluster]]


def cluster_config(root: Path, replicas: int) -> Config:
    cfg = Config()
    cfg.data.dir = str(root)
    cfg.cluster.hash_path_prefix = PREFIX
    cfg.cluster.hash_path_suffix = SUFFIX
    cfg.cluster.replicas = replicas
    cfg.cluster.part_power = 6
    cfg.proxy.node_timeout = 5.0
    cfg.validate()
    return cfg


@pytest.fixture
async def make_cluster(tmp_path: Path) -> AsyncIterator[ClusterFactory]:
    made: list[Cluster] = []

    async def make(
        nodes: int = 3,
        devices_per_node: int = 1,
        replicas: int = 3,
        *,
        proxy: bool = True,
        inline_threshold: int = 65536,
        **core_kw: Any,
    ) -> Cluster:
        root = tmp_path / f"cluster{len(made)}"
        cfg = cluster_config(root, replicas)
        devices = [f"d{j}" for j in range(devices_per_node)]
        layout = [(HOST, free_port(), list(devices)) for _ in range(nodes)]
        build_cluster_rings(root / "rings", layout, part_power=6, replicas=replicas)
        members = []
        for i, (_ip, port, devs) in enumerate(layout):
            settings = NodeSettings(
                devices_dir=str(root / "nodes" / f"node{i}"),
                devices=devs,
                hasher=make_hasher(PREFIX, SUFFIX),
                device=DeviceConfig(inline_threshold=inline_threshold, fsync=True),
                updater_interval=0.2,
                account_debounce=0.05,
            )
            node = Node(i, port, settings)
            await node.start()
            members.append(node)
        session = NodeClient.make_session()
        client = NodeClient(session, conn_timeout=1.0, node_timeout=cfg.proxy.node_timeout)
        rings = Rings.from_config(cfg)
        core = ProxyCore(cfg, rings, client, **core_kw)
        identity = IdentityStore(root / "identity")
        cluster = Cluster(root, cfg, rings, members, client, core, identity)
        made.append(cluster)
        if proxy:
            await _start_proxy(cluster)
        return cluster

    yield make
    for cluster in made:
        await cluster.close()


async def _start_proxy(cluster: Cluster) -> None:
    from objectstore.proxy.swift.app import make_app as make_proxy_app

    app = make_proxy_app(cluster.core, cluster.identity, cluster.config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, HOST, port, reuse_address=True).start()
    cluster._proxy = runner
    cluster.url = f"http://{HOST}:{port}"


@pytest.fixture
async def cluster(make_cluster: ClusterFactory) -> Cluster:
    """Three nodes, one device each, three replicas, the proxy app running."""
    return await make_cluster()


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class SwiftHTTP:
    """Plain HTTP requests to the proxy (no client library in the way)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
        raw: bool = False,
    ) -> Reply:
        """``raw=True`` sends ``path`` exactly as given (already percent-encoded)."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["X-Auth-Token"] = token
        url = URL(self.base + path, encoded=raw)
        # No automatic Content-Type: the proxy must guess it, as for curl or swiftclient.
        async with self.session.request(
            method, url, headers=hdrs, data=data, skip_auto_headers=("Content-Type",)
        ) as resp:
            return Reply(resp.status, resp.headers, await resp.read())


@pytest.fixture
async def swift(cluster: Cluster) -> AsyncIterator[SwiftHTTP]:
    """Requests to the default cluster's proxy."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield SwiftHTTP(session, cluster.url)
