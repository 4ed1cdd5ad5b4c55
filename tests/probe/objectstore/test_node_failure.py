"""kill -9 one of three storage nodes: writes and reads go on; after a restart nothing is lost.

The cluster is run the multi-node way: `stratus node --config FILE --node N`
three times and `stratus proxy --config FILE`, sharing one ring directory,
so the commands a real deployment uses are the ones under test.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from swiftclient.client import ClientException, Connection

from objectstore.client import NodeClient, NotFound
from objectstore.proxy.core import Rings
from stratus import config
from stratus.cli import cluster
from stratus.identity import IdentityStore
from tests.helpers.net import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[3]
KEY = "probe-admin-key-0123"


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def wait_listening(self, timeout: float = 30.0) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"{self.name} not listening:\n{self.log.read_text()[-3000:]}")


@dataclass
class Cluster:
    cfg: config.Config
    nodes: list[Proc]
    proxy: Proc

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}/auth/v1.0"

    def conn(self) -> Connection:
        return Connection(authurl=self.auth_url, user="admin:admin", key=KEY, retries=0)


@pytest.fixture
def three_nodes(tmp_path: Path) -> Iterator[Cluster]:
    base, proxy_port = free_port_block(3), free_port()
    cfg_path = tmp_path / "stratus.toml"
    cfg_path.write_text(
        f"""
[data]
dir = "{tmp_path / "data"}"
[cluster]
hash_path_prefix = "probe-prefix"
hash_path_suffix = "probe-suffix"
part_power = 6
[storage]
nodes = 3
devices_per_node = 2
base_port = {base}
[proxy]
port = {proxy_port}
node_timeout = 3.0
"""
    )
    cfg = config.load(cfg_path, env={})
    cluster.ensure_rings(cfg)  # what `stratus ring` would have written and copied around
    with IdentityStore(cluster.identity_dir(cfg)) as store:
        store.ensure_admin(key=KEY)
    stratus = [sys.executable, "-m", "stratus.cli.main", "--config", str(cfg_path)]
    nodes = [
        Proc(f"node{i}", [*stratus, "node", "--node", str(i)], tmp_path / f"n{i}.log", base + i)
        for i in range(3)
    ]
    proxy = Proc("proxy", [*stratus, "proxy"], tmp_path / "proxy.log", proxy_port)
    procs = [*nodes, proxy]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.wait_listening()
        yield Cluster(cfg, nodes, proxy)
    finally:
        for p in reversed(procs):
            p.stop()


def stored_on(cfg: config.Config, obj: str, *, down_port: int) -> tuple[list[int], list[int]]:
    """Ports of the live primaries and of the handoffs that hold ``obj`` (asked directly)."""
    rings = Rings.from_config(cfg)
    part, primaries = rings.object.get_nodes("AUTH_admin", "probe", obj)
    assert down_port in {d.port for d in primaries}, "the object should have lost a primary"
    handoffs = list(itertools.islice(rings.object.get_more_nodes(part), 3))

    async def holders(devs: list) -> list[int]:
        async with NodeClient.make_session() as session:
            client = NodeClient(session)
            found = []
            for dev in devs:
                if dev.port == down_port:
                    continue
                try:
                    await client.head_object(dev, part, "AUTH_admin", "probe", obj)
                except NotFound:
                    continue
                found.append(dev.port)
            return found

    return asyncio.run(holders(primaries)), asyncio.run(holders(handoffs))


def body_for(name: str, size: int) -> bytes:
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def test_kill9_one_node_then_restart(three_nodes: Cluster) -> None:
    conn = three_nodes.conn()
    conn.put_container("probe")
    # Small (inline in LMDB) and large (body files) objects alike.
    sizes = [100, 4096, 200_000]
    written: dict[str, bytes] = {}

    def put(name: str) -> None:
        body = body_for(name, sizes[len(written) % len(sizes)])
        etag = conn.put_object("probe", name, body)
        assert etag == hashlib.md5(body).hexdigest()
        written[name] = body

    for i in range(15):
        put(f"before/{i}")

    victim = three_nodes.nodes[1]
    victim.kill9()
    for i in range(30):  # every write still reaches a quorum (a handoff stands in)
        put(f"during/{i}")
    for name, body in written.items():
        assert conn.get_object("probe", name)[1] == body
    # Each write reached both live primaries and, for the dead one, a handoff.
    for name in ("during/0", "during/29"):
        live, handoffs = stored_on(three_nodes.cfg, name, down_port=victim.port)
        assert len(live) == 2
        assert len(handoffs) >= 1
    listed = {row["name"] for row in conn.get_container("probe", full_listing=True)[1]}
    assert listed == set(written)

    victim.start()
    victim.wait_listening()
    fresh = three_nodes.conn()
    for name, body in written.items():
        headers, got = fresh.get_object("probe", name)
        assert got == body, name
        assert headers["etag"] == hashlib.md5(body).hexdigest()
    # The restarted node's container replica catches up from queued updates.
    for _ in range(150):  # up to ~30 s
        listed = {row["name"] for row in fresh.get_container("probe", full_listing=True)[1]}
        if listed == set(written):
            break
        time.sleep(0.2)
    assert listed == set(written)


def test_kill9_mid_write_loses_nothing_acknowledged(three_nodes: Cluster) -> None:
    """Writers keep going while a node dies under them; every acknowledged object survives."""
    three_nodes.conn().put_container("probe")
    names = [f"mid/{i}" for i in range(48)]
    acked: dict[str, bytes] = {}
    failed: list[tuple[str, str]] = []
    started = threading.Event()

    def writer(mine: list[str]) -> None:
        conn = three_nodes.conn()
        for name in mine:
            body = body_for(name, 1_500_000)  # long enough to be cut mid-body
            started.set()
            try:
                conn.put_object("probe", name, body)
            except ClientException as exc:
                failed.append((name, str(exc)))
            else:
                acked[name] = body

    threads = [threading.Thread(target=writer, args=(names[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    assert started.wait(30)
    time.sleep(0.3)
    three_nodes.nodes[2].kill9()
    for t in threads:
        t.join(120)
    assert not failed, failed
    three_nodes.nodes[2].start()
    three_nodes.nodes[2].wait_listening()
    conn = three_nodes.conn()
    for name, body in acked.items():
        assert conn.get_object("probe", name)[1] == body, name
