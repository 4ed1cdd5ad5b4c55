"""The whole stack a server needs, on loopback: object store, image, volume and compute services.

``stack`` is a :class:`Stack`: a one-node object store, the image service,
the volume service (with its built-in iSCSI target) and the compute service,
each real and on its own free port, sharing one identity store; the test
guest is uploaded; ``stack.nova``, ``stack.nets``, ``stack.volumes`` and
``stack.images`` are the typed clients of project ``alpha``.
``await stack.restart_compute()`` stops the compute service (QEMU runs on)
and starts a new one on the same records. Teardown kills any QEMU the test
left behind and removes its interfaces, then fails the test if it had to.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from blockstore import service as volume_service
from blockstore.client import VolumeClient
from compute_glue import service as compute_service
from compute_glue.guest_image import GuestImage
from compute_glue.images import service as image_service
from compute_glue.images.client import ImageClient
from compute_glue.images.testguest import upload_test_guest
from compute_glue.networks import dhcp, nat
from compute_glue.networks.client import NetworkClient
from compute_glue.networks.netlink import HostNet
from compute_glue.servers.client import ComputeClient
from stratus.config import Config
from tests.functional.compute_glue.networks.conftest import need_net_admin, unique_prefix
from tests.functional.objectstore.conftest import Cluster, make_cluster  # noqa: F401
from tests.helpers.net import free_port
from tests.helpers.qemu import guest_image
from tests.helpers.tools import missing_tool

PROJECT = "alpha"


def qemu_pids(marker: str) -> list[int]:
    """QEMU processes whose command line mentions ``marker`` (a test's directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                argv = (entry / "cmdline").read_bytes()
                if b"qemu-system" in argv and marker.encode() in argv:
                    found.append(int(entry.name))
    return found


def stack_config(root: Path, proxy_url: str, prefix: str) -> Config:
    cfg = Config()
    cfg.data.dir = str(root)
    cfg.image.port, cfg.volume.port = free_port(), free_port()
    cfg.iscsi.port, cfg.compute.port = free_port(), free_port()
    cfg.network.port = free_port()
    cfg.image.object_store_url = proxy_url
    cfg.volume.backup_url = proxy_url
    cfg.network.ifname_prefix = prefix
    cfg.compute.shutdown_timeout = 1.0  # the test guest ignores ACPI power-off
    cfg.compute.qmp_timeout = 20.0
    cfg.validate()
    return cfg


@dataclass
class Stack:
    cluster: Cluster
    cfg: Config
    guest: GuestImage
    image_id: str = ""
    compute: Any = None
    _compute_cm: Any = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    clients: list[Any] = field(default_factory=list)

    @property
    def compute_url(self) -> str:
        return f"http://127.0.0.1:{self.cfg.compute.port}"

    @property
    def marker(self) -> str:
        return str(Path(self.cfg.data.dir) / "compute")

    def token(self, project: str = PROJECT, user: str = "user", role: str = "member") -> str:
        return self.cluster.token(project, user, role)

    def _client(self, c: Any) -> Any:
        self.clients.append(c)
        return c

    def exports(self) -> list[str]:
        """The targets the volume service's iSCSI target serves now."""
        return [t.iqn for t in self.volume_svc.server.targets]

    def nova_for(self, project: str, role: str = "member") -> ComputeClient:
        """A client of a user of its own (``token`` would give ``user`` this role too)."""
        user = "user" if role == "member" else f"{role}-user"
        return self._client(ComputeClient(self.compute_url, self.token(project, user, role)))

    async def start(self) -> Stack:
        # The cloud admin `stratus up` makes: the compute service's service token is its.
        self.cluster.token("admin", "admin", "admin")
        self.image_svc = await self._stack.enter_async_context(image_service.running(self.cfg))
        self.volume_svc = await self._stack.enter_async_context(volume_service.running(self.cfg))
        await self.start_compute()
        t = self.token()
        self.images = self._client(ImageClient(f"http://127.0.0.1:{self.cfg.image.port}", t))
        self.nova = self._client(ComputeClient(self.compute_url, t))
        self.nets = self._client(NetworkClient(self.compute_url, t))
        self.volumes = self._client(
            VolumeClient(f"http://127.0.0.1:{self.cfg.volume.port}", t, PROJECT)
        )
        self.image_id = (await upload_test_guest(self.images, self.guest))["id"]
        return self

    async def start_compute(self) -> None:
        self._compute_cm = compute_service.running(self.cfg)
        self.compute = await self._compute_cm.__aenter__()

    async def stop_compute(self) -> None:
        if self._compute_cm is not None:
            cm, self._compute_cm = self._compute_cm, None
            await cm.__aexit__(None, None, None)

    async def restart_compute(self) -> None:
        await self.stop_compute()
        await self.start_compute()

    async def network(self, cidr: str, name: str = "private") -> dict[str, Any]:
        net = await self.nets.create_network(name)
        await self.nets.create_subnet(net["id"], cidr)
        return net

    async def close(self) -> list[str]:
        """Stop everything; what had to be cleaned up behind the test."""
        leftovers = []
        for c in self.clients:
            await c.close()
        await self.stop_compute()
        for pid in qemu_pids(self.marker):
            leftovers.append(f"QEMU pid {pid}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await self._stack.aclose()
        host = HostNet()
        links = await host.links(self.cfg.network.ifname_prefix)
        for name in sorted(links, key=lambda n: links[n]["kind"] == "bridge"):
            leftovers.append(f"interface {name}")
            await host.delete(name)
        await nat.remove(self.cfg.network.ifname_prefix)  # kept while networks exist
        dhcp.stop_all(self.cfg.network.ifname_prefix)  # dnsmasq outlives the service too
        return leftovers


@pytest.fixture(scope="session")
def guest(tmp_path_factory: pytest.TempPathFactory) -> GuestImage:
    return guest_image(tmp_path_factory.mktemp("guest"))


@pytest.fixture
async def stack(make_cluster: Any, guest: GuestImage) -> AsyncIterator[Stack]:  # noqa: F811
    need_net_admin()
    if not Path("/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so").exists():
        missing_tool("QEMU's iSCSI driver (Debian package qemu-block-extra) is not installed")
    cluster = await make_cluster(nodes=1, replicas=1)
    cfg = stack_config(cluster.root, cluster.url, unique_prefix())
    s = Stack(cluster, cfg, guest)
    try:
        await s.start()
        yield s
    finally:
        leftovers = await asyncio.wait_for(s.close(), 120)
    assert not leftovers, f"the test left these behind: {leftovers}"


async def console_line(
    nova: ComputeClient, server_id: str, marker: str, timeout: float = 90.0, after: int = 0
) -> str:
    """The first whole console line (after ``after`` earlier ones) containing ``marker``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = await nova.console(server_id)
        # Only whole lines: the guest may be half-way through writing the last one.
        complete = text[: text.rfind("\n") + 1]
        hits = [line for line in complete.splitlines() if marker in line]
        if len(hits) > after:
            return hits[after].strip()
        if loop.time() > deadline:
            raise AssertionError(f"no {marker!r} on the console within {timeout}s:\n{text[-3000:]}")
        await asyncio.sleep(0.3)
