"""A real cluster on loopback for the S3 API: three storage nodes, rings, the
proxy core, identity and the S3 app, all running in one background thread's
event loop so that synchronous clients (boto3) can drive it from the tests.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiohttp import web
from botocore.config import Config as BotoConfig

from objectstore.client import NodeClient
from objectstore.node.device import DeviceConfig, make_hasher
from objectstore.node.server import NodeSettings
from objectstore.node.server import make_app as make_node_app
from objectstore.proxy.core import ProxyCore, Rings
from objectstore.proxy.models import ListParams
from objectstore.proxy.swift.app import make_app as make_swift_app
from ring import build_cluster_rings
from s3compat.app import make_s3_app
from stratus import config as stratus_config
from stratus.identity import IdentityStore
from tests.helpers.net import free_port, self_signed_cert
from tests.helpers.waiting import eventually

PREFIX, SUFFIX = "pre", "suf"
MiB = 1024 * 1024
BASE_DOMAIN = "s3.test"


@dataclass
class User:
    project: str
    user: str
    access: str
    secret: str
    key: str = ""  # for the native API (tempauth)


@dataclass
class S3Cluster:
    root: Path
    nodes: int = 3
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    port: int = 0
    tls_port: int = 0
    swift_port: int = 0
    runners: list[web.AppRunner] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)
    core: Any = None
    identity: Any = None
    _thread: threading.Thread | None = None
    _session: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_endpoint(self) -> str:
        """HTTPS (self-signed): where boto3 streams aws-chunked bodies with trailers."""
        return f"https://127.0.0.1:{self.tls_port}"

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.run(self._start())
        self.identity = IdentityStore(self.root / "identity")
        for project, user, role in (
            ("alpha", "alice", "member"),
            ("alpha", "reed", "reader"),
            ("alpha", "ada", "admin"),  # ACLs and bucket policies need the admin role
            ("alpha", "carol", "acl-only"),  # only what ACLs and policies grant
            ("beta", "bob", "member"),
        ):
            if project not in {p.name for p in self.identity.list_projects()}:
                self.identity.create_project(project)
            key = self.identity.create_user(project, user, role=role)
            access, secret = self.identity.create_credential(project, user)
            self.users[user] = User(project, user, access, secret, key)
        self.run(self._start_s3())

    async def _start(self) -> None:
        ports = [free_port() for _ in range(self.nodes)]
        ring_dir = self.root / "rings"
        build_cluster_rings(
            ring_dir, [("127.0.0.1", p, ["d0"]) for p in ports], part_power=6, replicas=3
        )
        for i, port in enumerate(ports):
            settings = NodeSettings(
                devices_dir=str(self.root / f"node{i}"),
                devices=["d0"],
                hasher=make_hasher(PREFIX, SUFFIX),
                device=DeviceConfig(inline_threshold=16384, fsync=True),
                updater_interval=0.2,
                account_debounce=0.05,
            )
            runner = web.AppRunner(make_node_app(settings), access_log=None, shutdown_timeout=2)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self.runners.append(runner)
        await self._make_core()

    async def _make_core(self) -> None:
        """The proxy core over the rings in ``root`` (another proxy makes its own)."""
        cfg = stratus_config.Config()
        cfg.cluster.hash_path_prefix, cfg.cluster.hash_path_suffix = PREFIX, SUFFIX
        cfg.proxy.node_timeout = 5.0
        cfg.s3.base_domain = BASE_DOMAIN
        cfg.data.dir = str(self.root)  # the SSE-S3 key file is made here, not in the cwd
        # Every test's bad signatures come from 127.0.0.1 into this one session-long app;
        # the failed-authentication limit has its own tests (tests/functional/stratus/cli).
        cfg.identity.failed_auth_burst = 0
        self.config = cfg
        rings = Rings.load(self.root / "rings", prefix=PREFIX, suffix=SUFFIX)
        self._session = NodeClient.make_session()
        self.core = ProxyCore(cfg, rings, NodeClient(self._session, node_timeout=5.0))

    def serve_proxy(self, port: int, swift_port: int) -> None:
        """Run another proxy (S3 and native apps, its own core) over this cluster's nodes,
        rings and identity, in this process, until killed: see :func:`second_proxy`."""
        self.identity = IdentityStore(self.root / "identity")
        self.loop.run_until_complete(self._make_core())
        self.loop.run_until_complete(self._start_s3(port, swift_port))
        self.loop.run_forever()

    async def _start_s3(self, port: int = 0, swift_port: int = 0) -> None:
        self.port = port or free_port()
        runner = web.AppRunner(
            make_s3_app(self.core, self.identity, self.config), access_log=None, shutdown_timeout=2
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.tls_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", self.tls_port, ssl_context=self._tls()).start()
        self.runners.insert(0, runner)
        self.swift_port = swift_port or free_port()
        swift = web.AppRunner(
            make_swift_app(self.core, self.identity, self.config),
            access_log=None,
            shutdown_timeout=2,
        )
        await swift.setup()
        await web.TCPSite(swift, "127.0.0.1", self.swift_port).start()
        self.runners.insert(0, swift)

    @property
    def auth_url(self) -> str:
        """The native API's tempauth endpoint."""
        return f"http://127.0.0.1:{self.swift_port}/auth/v1.0"

    def _tls(self) -> ssl.SSLContext:
        cert, key = self_signed_cert(self.root)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        return ctx

    async def _stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            if self.identity is not None:
                self.identity.close()

    def client(self, user: str = "alice", *, tls: bool = False, **config: Any) -> Any:
        """A boto3 S3 client with default settings (plus ``config``) acting as ``user``."""
        u = self.users[user]
        return boto3.client(
            "s3",
            endpoint_url=self.tls_endpoint if tls else self.endpoint,
            verify=False if tls else None,
            aws_access_key_id=u.access,
            aws_secret_access_key=u.secret,
            region_name="us-east-1",
            config=BotoConfig(**config) if config else None,
        )


@pytest.fixture(scope="session")
def s3_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Cluster]:
    cluster = S3Cluster(tmp_path_factory.mktemp("s3cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _serve_second_proxy(root: str, port: int, swift_port: int) -> None:
    S3Cluster(Path(root)).serve_proxy(port, swift_port)


@pytest.fixture(scope="session")
def second_proxy(s3_cluster: S3Cluster) -> Iterator[S3Cluster]:
    """Another proxy PROCESS over the same nodes, rings and identity (S3 on ``port``, the
    native API on ``swift_port``): nothing in one proxy's memory is seen by the other."""
    other = S3Cluster(s3_cluster.root, port=free_port(), swift_port=free_port())
    other.users = s3_cluster.users
    proc = multiprocessing.get_context("spawn").Process(
        target=_serve_second_proxy,
        args=(str(s3_cluster.root), other.port, other.swift_port),
        daemon=True,
    )
    proc.start()
    try:
        for port in (other.port, other.swift_port):
            assert eventually(lambda p=port: _accepts(p), bool, timeout=60), "no second proxy"
        yield other
    finally:
        proc.kill()
        proc.join(10)


_counter = iter(range(1_000_000))


@pytest.fixture
def bucket_name() -> str:
    """A fresh bucket name per test."""
    return f"bkt-{next(_counter)}-{threading.get_ident() % 1000}"


@pytest.fixture
def s3(s3_cluster: S3Cluster) -> Any:
    return s3_cluster.client("alice")


@pytest.fixture
def bucket(s3: Any, bucket_name: str) -> str:
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name


def segment_names(cluster: S3Cluster, bucket: str) -> list[str]:
    async def names() -> list[str]:
        try:
            _info, rows = await cluster.core.list_objects(
                "AUTH_alpha", f"{bucket}+segments", ListParams()
            )
        except Exception:
            return []
        return [r.name for r in rows]

    return cluster.run(names())


def upload_parts(s3: Any, bucket: str, key: str, parts: list[bytes]) -> tuple[str, list[dict]]:
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for n, data in enumerate(parts, start=1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data)["ETag"]
        done.append({"PartNumber": n, "ETag": etag})
    return uid, done
