"""Several volume backends behind one volume API, as Cinder's c-vol services behind c-api:
two `stratus volume backend` processes (own storage directory, own iSCSI portal) on
loopback, the API in this process with ``volume.backends``. Placement by type and by
capacity, the admin-only host attribute, snapshots and clones on their source's backend,
migration with its bytes verified, and a backend killed (-9) and restarted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from blockstore import service
from blockstore.api.context import IDENTITY
from blockstore.client import VolumeApiError, VolumeClient
from stratus.config import Config
from tests.functional.blockstore.iscsi.initiator import session
from tests.functional.blockstore.volume.backend_procs import (
    SECRET,
    BackendProc,
    MiB,
    head,
    sha256_of,
)
from tests.helpers.net import free_port

HOST = "iqn.2024-01.org.stratus.test:backends-host"


@dataclass
class Cloud:
    url: str
    identity: Any
    backends: dict[str, BackendProc]
    svc: Any
    clients: list[VolumeClient] = field(default_factory=list)

    def client(self, project: str, user: str, role: str = "member") -> VolumeClient:
        from stratus.identity import AlreadyExists

        with contextlib.suppress(AlreadyExists):
            self.identity.create_project(project)
        with contextlib.suppress(AlreadyExists):
            self.identity.create_user(project, user, role=role)
        token = self.identity.issue_token(project, user, 3600)[0]
        c = VolumeClient(self.url, token, project)
        self.clients.append(c)
        return c


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[Cloud]:
    """Backends ``fast`` (10 GiB) and ``slow`` (5 GiB); no over-subscription, so capacity
    decides for real."""
    backends = {
        name: BackendProc(name, tmp_path / name, free_port(), free_port(), gb)
        for name, gb in (("fast", 10), ("slow", 5))
    }
    for b in backends.values():
        b.root.mkdir()
    await asyncio.gather(*(b.start() for b in backends.values()))
    cfg = Config()
    cfg.data.dir = str(tmp_path / "api")
    cfg.volume.port = free_port()
    cfg.volume.backends = [f"{b.name}={b.url}" for b in backends.values()]
    cfg.volume.backend_secret = SECRET
    cfg.volume.backend_down_after = 1.0
    cfg.volume.max_over_subscription_ratio = 1.0
    cfg.validate()
    try:
        async with service.running(cfg) as svc:
            cloud = Cloud(f"http://127.0.0.1:{svc.port}", svc.app[IDENTITY], backends, svc)
            try:
                yield cloud
            finally:
                for c in cloud.clients:
                    await c.close()
    finally:
        for b in backends.values():
            await b.kill(signal.SIGTERM)


async def admin_view(admin: VolumeClient, volume_id: str) -> dict[str, Any]:
    vols = await admin.list_volumes(all_tenants="1")
    return next(v for v in vols if v["id"] == volume_id)


async def wait_admin(
    admin: VolumeClient, volume_id: str, key: str, wanted: Any, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        vol = await admin_view(admin, volume_id)
        if vol[key] == wanted or (key == "migration_status" and vol[key] == "error"):
            assert vol[key] == wanted, vol
            return vol
        assert time.monotonic() < deadline, (key, wanted, vol)
        await asyncio.sleep(0.1)


async def test_placement_by_type_and_capacity(cloud: Cloud) -> None:
    admin = cloud.client("admin", "admin", "admin")
    alice = cloud.client("alpha", "alice")
    fast, slow = cloud.backends["fast"], cloud.backends["slow"]
    await admin.create_type("on-slow", {"volume_backend_name": "slow"})
    await admin.create_type("on-nothing", {"volume_backend_name": "missing"})

    # The capacity weigher: the backend with the most free capacity wins.
    big = await alice.wait_volume((await alice.create_volume(8))["id"])
    assert (await admin_view(admin, big["id"]))["os-vol-host-attr:host"] == fast.host
    assert fast.volume_file(big["id"]).exists() and not slow.volume_file(big["id"]).exists()
    small = await alice.wait_volume((await alice.create_volume(2))["id"])  # fast: 2G left
    assert (await admin_view(admin, small["id"]))["os-vol-host-attr:host"] == slow.host

    # The type's volume_backend_name filters first, whatever the free space elsewhere.
    typed = await alice.wait_volume((await alice.create_volume(1, volume_type="on-slow"))["id"])
    assert (await admin_view(admin, typed["id"]))["os-vol-host-attr:host"] == slow.host
    assert slow.volume_file(typed["id"]).exists()

    # No backend fits: the volume exists in error (Cinder's NoValidBackend), on no host.
    for size, vtype in ((3, None), (1, "on-nothing"), (3, "on-slow")):
        vol = await alice.create_volume(size, volume_type=vtype)
        with pytest.raises(Exception, match="No valid backend"):
            await alice.wait_volume(vol["id"])
        shown = await admin_view(admin, vol["id"])
        assert shown["status"] == "error" and shown["os-vol-host-attr:host"] is None

    # Only a cloud admin sees where a volume lives.
    mine = await alice.get_volume(big["id"])
    assert "os-vol-host-attr:host" not in mine
    assert "os-vol-mig-status-attr:migstat" not in mine


async def test_snapshots_and_clones_stay_on_their_backend_and_serve_iscsi(cloud: Cloud) -> None:
    admin = cloud.client("admin", "admin", "admin")
    alice = cloud.client("alpha", "alice")
    fast, slow = cloud.backends["fast"], cloud.backends["slow"]
    await admin.create_type("on-slow", {"volume_backend_name": "slow"})
    src = await alice.wait_volume((await alice.create_volume(1, volume_type="on-slow"))["id"])
    data = os.urandom(MiB)
    with open(slow.volume_file(src["id"]), "r+b") as f:
        f.write(data)
    snap = await alice.wait_snapshot((await alice.create_snapshot(src["id"]))["id"])
    assert head(slow.snapshot_file(snap["id"])) == data
    # fast has far more room, but a copy goes where its source is.
    for fields in ({"snapshot_id": snap["id"]}, {"source_volid": src["id"]}):
        copy = await alice.wait_volume((await alice.create_volume(None, **fields))["id"])
        assert (await admin_view(admin, copy["id"]))["os-vol-host-attr:host"] == slow.host
        assert head(slow.volume_file(copy["id"])) == data
        assert not fast.volume_file(copy["id"]).exists()

    # Attached, the volume is served by its own backend's portal, with CHAP.
    att = await alice.attach(src["id"], HOST)
    d = att["connection_info"]["data"]
    assert d["target_portal"] == f"127.0.0.1:{slow.iscsi_port}"
    chap = (d["auth_username"], d["auth_password"])
    async with session("127.0.0.1", slow.iscsi_port, d["target_iqn"], name=HOST, chap=chap) as ini:
        assert (await ini.read16(0, 8)).data == data[:4096]
    await alice.delete_attachment(att["id"])


async def test_migration_moves_verified_bytes(cloud: Cloud) -> None:
    admin = cloud.client("admin", "admin", "admin")
    alice = cloud.client("alpha", "alice")
    fast, slow = cloud.backends["fast"], cloud.backends["slow"]
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    assert (await admin_view(admin, vol["id"]))["os-vol-host-attr:host"] == fast.host
    with open(fast.volume_file(vol["id"]), "r+b") as f:
        for i in range(8):  # data scattered over the volume, holes between
            f.seek(i * 128 * MiB)
            f.write(os.urandom(4 * MiB))
    before = sha256_of(fast.volume_file(vol["id"]))

    with pytest.raises(VolumeApiError) as denied:  # an admin action
        await alice.volume_action(vol["id"], "os-migrate_volume", {"host": slow.host})
    assert denied.value.status == 403
    for bad in (fast.host, "nowhere@x#x"):
        with pytest.raises(VolumeApiError) as refused:
            await admin.volume_action(vol["id"], "os-migrate_volume", {"host": bad})
        assert refused.value.status == 400

    started = time.monotonic()
    await admin.volume_action(
        vol["id"], "os-migrate_volume", {"host": slow.host, "force_host_copy": False}
    )
    moved = await wait_admin(admin, vol["id"], "migration_status", "success")
    seconds = time.monotonic() - started
    assert moved["status"] == "available" and moved["os-vol-host-attr:host"] == slow.host
    assert sha256_of(slow.volume_file(vol["id"])) == before
    assert not fast.volume_file(vol["id"]).exists()
    copied = cloud.svc.manager.migrations.last[vol["id"]]
    assert copied.sha256 == before
    print(
        json.dumps(
            {
                "migration_bytes": copied.size,
                "migration_seconds": round(seconds, 3),
                "migration_MBps": round(copied.size / seconds / 1e6, 1),
                "copy_MBps": round(copied.size / copied.seconds / 1e6, 1),
                "sent_bytes": copied.sent,
            }
        )
    )
    # The volume now lives on slow: attached, slow's portal serves the same bytes.
    att = await alice.attach(vol["id"], HOST)
    d = att["connection_info"]["data"]
    assert d["target_portal"] == f"127.0.0.1:{slow.iscsi_port}"
    chap = (d["auth_username"], d["auth_password"])
    async with session("127.0.0.1", slow.iscsi_port, d["target_iqn"], name=HOST, chap=chap) as ini:
        want = head(slow.volume_file(vol["id"]), 4096, 128 * MiB)
        assert (await ini.read16(128 * MiB // 512, 8)).data == want
    await alice.delete_attachment(att["id"])
    # An attached volume is not migrated here (offline copies only).
    att = await alice.attach(vol["id"], HOST)
    with pytest.raises(VolumeApiError) as busy:
        await admin.volume_action(vol["id"], "os-migrate_volume", {"host": fast.host})
    assert busy.value.status == 400
    await alice.delete_attachment(att["id"])


async def test_a_dead_backend_errors_its_volumes_only_and_returns(cloud: Cloud) -> None:
    admin = cloud.client("admin", "admin", "admin")
    alice = cloud.client("alpha", "alice")
    fast, slow = cloud.backends["fast"], cloud.backends["slow"]
    await admin.create_type("on-slow", {"volume_backend_name": "slow"})
    on_fast = await alice.wait_volume((await alice.create_volume(1))["id"])
    idle = await alice.wait_volume((await alice.create_volume(1))["id"])
    on_slow = await alice.wait_volume((await alice.create_volume(1, volume_type="on-slow"))["id"])
    att = await alice.attach(on_fast["id"], HOST)
    d = att["connection_info"]["data"]
    chap = (d["auth_username"], d["auth_password"])
    async with session("127.0.0.1", fast.iscsi_port, d["target_iqn"], name=HOST, chap=chap) as ini:
        assert (await ini.write16(0, b"k" * 4096)).status == 0

    await fast.kill()
    await wait_admin(admin, on_fast["id"], "status", "error", timeout=20)
    shown = await alice.get_volume(idle["id"])
    assert shown["status"] == "error" and "is down" in (shown["fail_reason"] or "")
    assert (await alice.get_volume(on_slow["id"]))["status"] == "available"
    services = await admin.request("GET", "/os-services", params={"binary": "cinder-volume"})
    states = {s["host"]: s["state"] for s in services["services"]}
    assert states == {fast.host.split("#")[0]: "down", slow.host.split("#")[0]: "up"}
    # While fast is down, new volumes go to slow (the scheduler skips a down backend).
    fresh = await alice.wait_volume((await alice.create_volume(1))["id"])
    assert (await admin_view(admin, fresh["id"]))["os-vol-host-attr:host"] == slow.host

    await fast.start()  # same directory and portal: reconciliation restores and re-exports
    await wait_admin(admin, on_fast["id"], "status", "in-use", timeout=20)
    assert (await alice.wait_volume(idle["id"], timeout=20))["fail_reason"] is None
    async with session("127.0.0.1", fast.iscsi_port, d["target_iqn"], name=HOST, chap=chap) as ini:
        assert (await ini.read16(0, 8)).data == b"k" * 4096
    await alice.delete_attachment(att["id"])
    await alice.delete_volume(idle["id"])
    await alice.wait_volume_gone(idle["id"], timeout=20)
    assert not fast.volume_file(idle["id"]).exists()
