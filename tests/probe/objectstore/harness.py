"""A multi-node object cluster of real processes on loopback, for the durability probes.

Storage nodes run as ``stratus node --config FILE --node N`` and the proxy
as ``stratus proxy --config FILE``, the commands a deployment uses. Their
background workers are timed far apart so that the tests decide when a
replication, audit or expiry pass happens (``replicate()`` is what
``stratus node replicate --once`` does). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from objectstore.client import NodeClient, NodeClientError, NotFound
from objectstore.proxy.core import Rings
from ring import build_cluster_rings, hash_path
from stratus import config
from stratus.cli import cluster as layout
from stratus.identity import IdentityStore
from tests.helpers.net import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[3]
KEY = "probe-durability-key-0123"
S3_ACCESS, S3_SECRET = "probe-access", "probe-secret-0123456789"
PREFIX, SUFFIX = "probe-prefix", "probe-suffix"
ACCOUNT = "AUTH_admin"
WAIT = 60.0  # no single wait in these tests may exceed this


def body_for(name: str, size: int, version: int = 0) -> bytes:
    seed = hashlib.sha256(f"{name}/{version}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    async def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + WAIT
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                if not self.alive:
                    code = self.proc.returncode if self.proc else None
                    raise AssertionError(f"{self.name} exited (status {code}):\n{self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with s.get(f"http://127.0.0.1:{self.port}{path}") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} not ready within {WAIT} s:\n{self.tail()}")


@dataclass
class Swift:
    """Plain HTTP to the proxy with an admin token (no client library in the way)."""

    session: aiohttp.ClientSession
    url: str  # storage URL: http://host:port/v1/AUTH_admin
    token: str

    async def request(
        self, method: str, path: str, data: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """(status, body, headers); raises aiohttp errors (a cut connection) as they come."""
        hdrs = {"X-Auth-Token": self.token, **(headers or {})}
        timeout = aiohttp.ClientTimeout(total=WAIT)
        async with self.session.request(
            method, f"{self.url}{path}", data=data, headers=hdrs, timeout=timeout
        ) as resp:
            return resp.status, await resp.read(), dict(resp.headers)


@dataclass
class ProbeCluster:
    root: Path
    cfg_path: Path
    cfg: config.Config
    nodes: list[Proc]
    proxy: Proc
    session: aiohttp.ClientSession | None = None
    _client: NodeClient | None = field(default=None, repr=False)

    # -- processes --
    async def start_node(self, index: int) -> None:
        self.nodes[index].start()
        await self.nodes[index].wait_ready("/healthcheck")

    def kill9(self, index: int) -> None:
        self.nodes[index].kill9()

    def stop_node(self, index: int) -> None:
        self.nodes[index].stop()

    def device_dir(self, index: int, device: str = "d0") -> Path:
        return layout.node_dir(self.cfg, index) / device

    # -- rings --
    def rings(self) -> Rings:
        return Rings.from_config(self.cfg)

    def rebalance(self, node_count: int) -> None:
        """What an operator does to grow the cluster: add the nodes' devices, rebalance."""
        nodes = [
            (*layout.node_address(self.cfg, i), layout.device_names(self.cfg))
            for i in range(node_count)
        ]
        build_cluster_rings(
            layout.ring_dir(self.cfg),
            nodes,
            part_power=self.cfg.cluster.part_power,
            replicas=self.cfg.cluster.replicas,
            min_part_hours=0,
        )

    # -- clients --
    @property
    def client(self) -> NodeClient:
        assert self._client is not None
        return self._client

    async def swift(self) -> Swift:
        assert self.session is not None
        auth = f"http://127.0.0.1:{self.proxy.port}/auth/v1.0"
        headers = {"X-Auth-User": "admin:admin", "X-Auth-Key": KEY}
        async with self.session.get(auth, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            return Swift(self.session, resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"])

    async def replicate(
        self, workers: tuple[str, ...] = ("object", "container", "account")
    ) -> dict:
        """One pass of ``workers`` on every running node at once (``stratus node replicate``)."""
        devs = self.node_devices()
        running = [d for i, d in enumerate(devs) if self.nodes[i].alive]
        results = await asyncio.gather(
            *(self.client.replicate_now(d, list(workers), timeout=WAIT) for d in running)
        )
        for result in results:
            for name, state in result.items():
                assert not state.get("last_error"), (name, state)
        return dict(zip([d.port for d in running], results, strict=True))

    def node_devices(self) -> list[Any]:
        """One address per node (device d0), for the node-wide endpoints."""
        from stratus.cli.status_cmd import _Node

        return [_Node(*layout.node_address(self.cfg, i), "d0") for i in range(len(self.nodes))]

    async def holders(self, container: str, name: str) -> tuple[list[str | None], list[Any]]:
        """Each primary's ETag of ``name`` (None: absent or deleted), and the primaries."""
        part, primaries = self.rings().object.get_nodes(ACCOUNT, container, name)
        out: list[str | None] = []
        for dev in primaries:
            try:
                out.append(
                    (await self.client.head_object(dev, part, ACCOUNT, container, name)).etag
                )
            except (NotFound, NodeClientError):
                out.append(None)
        return out, primaries

    async def misplaced(self) -> list[str]:
        """Partitions held by a device that is not one of their primaries, per ring."""
        rings = self.rings()
        out = []
        for ring_name in ("object", "container", "account"):
            ring = getattr(rings, ring_name)
            for dev in ring.devices:
                held = (await self.client.device_partitions(dev))[ring_name]
                for part in held:
                    if not any(
                        (d.ip, d.port, d.device) == (dev.ip, dev.port, dev.device)
                        for d in ring.get_part_nodes(part)
                    ):
                        out.append(f"{ring_name} part {part} on {dev.port}/{dev.device}")
        return out

    def body_file(self, index: int, container: str, name: str) -> Path:
        """The body file of ``name`` on node ``index``'s device d0."""
        part, _ = self.rings().object.get_nodes(ACCOUNT, container, name)
        key = part.to_bytes(4, "big") + hash_path(
            ACCOUNT, container, name, prefix=PREFIX, suffix=SUFFIX
        )
        (path,) = (self.device_dir(index) / "objects" / str(part)).glob(f"{key.hex()}.*.data")
        return path


def write_config(
    root: Path, *, nodes: int, base_port: int, proxy_port: int, replicator_interval: float = 3600.0
) -> Path:
    path = root / "stratus.toml"
    path.write_text(
        f"""
[data]
dir = "{root / "data"}"
[cluster]
hash_path_prefix = "{PREFIX}"
hash_path_suffix = "{SUFFIX}"
part_power = 6
min_part_hours = 0
[storage]
nodes = {nodes}
devices_per_node = 1
base_port = {base_port}
inline_threshold = 16384
[s3]
port = {free_port()}
[proxy]
port = {proxy_port}
node_timeout = 3.0
error_suppression_interval = 5.0
[durability]
# The tests run passes when they want them; these only keep the workers quiet.
replicator_interval = {replicator_interval}
auditor_interval = 3600.0
expirer_interval = 3600.0
reclaim_age = 604800.0
replicator_bytes_per_second = 0.0
replicator_items_per_second = 0.0
auditor_bytes_per_second = 0.0
auditor_files_per_second = 0.0
"""
    )
    return path


@contextlib.asynccontextmanager
async def probe_cluster(
    root: Path,
    *,
    nodes: int = 3,
    ring_nodes: int | None = None,
    replicator_interval: float = 3600.0,
    before_start: Callable[[config.Config], None] | None = None,
) -> AsyncIterator[ProbeCluster]:
    """Start ``nodes`` node processes (rings naming the first ``ring_nodes``) and a proxy.

    The nodes replicate on their own every ``replicator_interval`` seconds
    (by default: not during a test, which calls ``replicate()`` instead).
    ``before_start(cfg)`` runs once the rings and identity exist, before any
    process starts (the power-loss probes mount their file systems there).
    """
    base, proxy_port = free_port_block(nodes), free_port()
    cfg_path = write_config(
        root,
        nodes=nodes,
        base_port=base,
        proxy_port=proxy_port,
        replicator_interval=replicator_interval,
    )
    cfg = config.load(cfg_path, env={})
    cfg.data.dir = str(cfg.data_dir.resolve())
    cfg.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # services refuse open data
    count = ring_nodes or nodes
    build_cluster_rings(
        layout.ring_dir(cfg),
        [(*layout.node_address(cfg, i), layout.device_names(cfg)) for i in range(count)],
        part_power=cfg.cluster.part_power,
        replicas=cfg.cluster.replicas,
        min_part_hours=0,
    )
    with IdentityStore(layout.identity_dir(cfg)) as store:
        store.ensure_admin(key=KEY)
        store.ensure_admin_credential(S3_ACCESS, S3_SECRET)
    if before_start is not None:
        before_start(cfg)
    stratus = [sys.executable, "-m", "stratus.cli.main", "--config", str(cfg_path)]
    procs = [
        Proc(f"node{i}", [*stratus, "node", "--node", str(i)], root / f"node{i}.log", base + i)
        for i in range(nodes)
    ]
    proxy = Proc("proxy", [*stratus, "proxy"], root / "proxy.log", proxy_port)
    c = ProbeCluster(root, cfg_path, cfg, procs, proxy)
    session = NodeClient.make_session()
    c._client = NodeClient(session, conn_timeout=2.0, node_timeout=WAIT)
    try:
        for p in procs[:count]:
            p.start()
        proxy.start()
        await asyncio.gather(
            *(p.wait_ready("/healthcheck") for p in procs[:count]), proxy.wait_ready("/info")
        )
        async with aiohttp.ClientSession() as s:
            c.session = s
            yield c
    finally:
        for p in [proxy, *procs]:
            p.stop()
        await session.close()


def clear_device(c: ProbeCluster, index: int) -> None:
    """An operator replaced the disk: the device directory comes back empty."""
    shutil.rmtree(c.device_dir(index))
    c.device_dir(index).mkdir(mode=0o700, parents=True)  # a node refuses open data dirs


def flip_byte(path: Path, at: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        b = fh.read(1)
        fh.seek(at)
        fh.write(bytes([b[0] ^ 0x5A]))
        fh.flush()
        os.fsync(fh.fileno())


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
