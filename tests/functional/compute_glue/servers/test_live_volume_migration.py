"""An attached volume migrated to another backend while its guest writes (Cinder's
migration of an in-use volume, Nova's swap_volume with a QEMU block mirror and pivot).

Two `stratus volume backend` processes (each its own storage directory and iSCSI portal)
behind the volume API; a real TCG guest writes numbered 64 KiB blocks to its volume
(``oflag=direct``) without pause. A first migration is made to fail (its copy is
corrupted while the guest is paused for the hashes): the guest stays on its original
volume, intact, and keeps writing. The second succeeds: every block the guest wrote
before, during and after the pivot reads back from the new backend's file, the old
backend holds nothing, and the volume detaches and attaches again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from blockstore.client import VolumeClient
from blockstore.manager.records import Volume
from blockstore.manager.store import Txn
from blockstore.pool.server import TOKEN_HEADER
from compute_glue.guest_image import GuestImage
from tests.functional.blockstore.volume.backend_procs import SECRET, BackendProc
from tests.functional.compute_glue.networks.conftest import need_net_admin, unique_prefix
from tests.functional.compute_glue.servers.conftest import Stack, console_line, stack_config
from tests.functional.compute_glue.servers.test_attach import boot
from tests.helpers.net import free_port
from tests.helpers.tools import missing_tool

pytestmark = pytest.mark.slow

KiB, MiB, GiB = 1024, 1024 * 1024, 1024**3
BLOCK = 64 * KiB
STOP_AT = GiB - 4 * KiB  # the test writes STOP here, in the new backend's file
MAX_BLOCKS = 6000  # about 375 MiB at most
FILL_AT, FILL = 600 * MiB, 200 * MiB

# Writes block i (64 KiB of "BLK<i>\n") at offset i*64 KiB, one after another, direct;
# every 8 blocks prints how many are written and reads the stop sector.
WRITER = f"""echo "T:UP"
while [ ! -b /dev/vda ]; do sleep 0.2; done
i=0
while [ $i -lt {MAX_BLOCKS} ]; do
  yes "BLK$i" | head -c {BLOCK} > /tmp/b
  dd if=/tmp/b of=/dev/vda bs={BLOCK} seek=$i oflag=direct 2>/dev/null || echo "T:ERR $i"
  i=$((i+1))
  if [ $((i % 8)) = 0 ]; then
    echo "T:W $i"
    m=$(dd if=/dev/vda bs=512 count=1 skip={STOP_AT // 512} iflag=direct 2>/dev/null | head -c 4)
    [ "$m" = "STOP" ] && break
  fi
done
echo "T:DONE $i"
while true; do sleep 1; done
"""


def block(i: int) -> bytes:
    word = f"BLK{i}\n".encode()
    return (word * (BLOCK // len(word) + 1))[:BLOCK]


async def written(stack: Stack, server_id: str) -> int:
    """How many blocks the guest says it has written."""
    found = re.findall(r"T:W (\d+)", await stack.nova.console(server_id))
    return int(found[-1]) if found else 0


async def wait_written(stack: Stack, server_id: str, at_least: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while (n := await written(stack, server_id)) < at_least:
        assert time.monotonic() < deadline, f"the guest wrote {n} blocks, not {at_least}"
        await asyncio.sleep(0.3)
    return n


async def admin_view(admin: VolumeClient, volume_id: str) -> dict[str, Any]:
    vols = await admin.list_volumes(all_tenants="1")
    return next(v for v in vols if v["id"] == volume_id)


async def wait_migration(admin: VolumeClient, volume_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        vol = await admin_view(admin, volume_id)
        if vol["migration_status"] in ("success", "error"):
            return vol
        assert time.monotonic() < deadline, vol
        await asyncio.sleep(0.2)


async def put_json(url: str, token: str, body: dict[str, Any]) -> int:
    async with (
        aiohttp.ClientSession() as s,
        s.put(url, json=body, headers={"X-Auth-Token": token}) as r,
    ):
        return r.status


async def _backend_get(b: BackendProc, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{b.url}{path}", headers={TOKEN_HEADER: SECRET}) as r,
    ):
        return await r.json()


async def exports_of(b: BackendProc) -> list[str]:
    return list((await _backend_get(b, "/exports"))["exports"])


async def sessions_of(b: BackendProc) -> list[str]:
    """The initiators logged in to ``b``'s targets now."""
    return [s["initiator"] for s in (await _backend_get(b, "/sessions"))["sessions"]]


def fail_reason(stack: Stack, volume_id: str) -> str:
    def txn(t: Txn) -> str:
        return next(v.fail_reason or "" for v in t.scan(Volume) if v.id == volume_id)

    return stack.volume_svc.manager.store.read(txn)


def check_blocks(path: Path, count: int) -> None:
    """Blocks 0..count-1 hold what the guest wrote."""
    with path.open("rb") as f:
        for i in range(count):
            got = f.read(BLOCK)
            assert got == block(i), f"block {i} of {path} is {got[:16]!r}"


@pytest.fixture
async def stack_on_backends(
    make_cluster: Any, guest: GuestImage, tmp_path: Path
) -> AsyncIterator[tuple[Stack, dict[str, BackendProc]]]:
    """The compute stack of ``conftest.stack`` with its volumes on two backend processes."""
    need_net_admin()
    if not Path("/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so").exists():
        missing_tool("QEMU's iSCSI driver (Debian package qemu-block-extra) is not installed")
    backends = {n: BackendProc(n, tmp_path / n, free_port(), free_port(), 20) for n in ("a", "b")}
    for b in backends.values():
        b.root.mkdir()
    await asyncio.gather(*(b.start() for b in backends.values()))
    cluster = await make_cluster(nodes=1, replicas=1)
    cfg = stack_config(cluster.root, cluster.url, unique_prefix())
    cfg.volume.backends = [f"{b.name}={b.url}" for b in backends.values()]
    cfg.volume.backend_secret = SECRET
    cfg.validate()
    s = Stack(cluster, cfg, guest)
    try:
        await s.start()
        yield s, backends
    finally:
        try:
            leftovers = await asyncio.wait_for(s.close(), 120)
        finally:
            for b in backends.values():
                await b.kill(signal.SIGTERM)
    assert not leftovers, f"the test left these behind: {leftovers}"


async def test_attached_volume_migrates_while_the_guest_writes(
    stack_on_backends: tuple[Stack, dict[str, BackendProc]],
) -> None:
    stack, backends = stack_on_backends
    url = f"http://127.0.0.1:{stack.cfg.volume.port}"
    admin = stack._client(VolumeClient(url, stack.token("admin", "admin", "admin"), "admin"))
    await admin.create_type("on-a", {"volume_backend_name": "a"})
    server = await boot(stack, "mover", WRITER)
    vol = await stack.volumes.create_volume(1, name="data", volume_type="on-a")
    vol = await stack.volumes.wait_volume(vol["id"], "available")
    vid = vol["id"]
    a, b = backends["a"], backends["b"]
    assert (await admin_view(admin, vid))["os-vol-host-attr:host"] == a.host
    fill = os.urandom(FILL)  # data the guest does not touch, so the copy moves bytes
    with a.volume_file(vid).open("r+b") as f:
        f.seek(FILL_AT)
        f.write(fill)
    await stack.nova.attach_volume(server["id"], vid)
    await wait_written(stack, server["id"], 16)
    # The swap call is the volume service's, an admin's: a member may not make it, and
    # Nova's own swap to another volume is not implemented.
    swap_url = f"{stack.compute_url}/v2.1/servers/{server['id']}/os-volume_attachments/{vid}"
    step = {"volumeId": vid, "stratus:migration": {"step": "abort"}}
    assert await put_json(swap_url, stack.token(), {"volumeAttachment": step}) == 403
    other = {"volumeId": str(uuid.uuid4())}
    admin_token = stack.token("admin", "admin", "admin")
    assert await put_json(swap_url, admin_token, {"volumeAttachment": other}) == 501
    assert await put_json(swap_url, admin_token, {"volumeAttachment": step}) == 409

    # 1. A migration that fails: its copy is corrupted while the guest is paused for the
    # hashes. The guest stays on its original volume, which holds every block, and the
    # volume is in-use again with migration_status error.
    swaps = stack.compute.servers.swaps
    await admin.volume_action(vid, "os-migrate_volume", {"host": b.host})
    deadline = time.monotonic() + 600
    while not swaps.pending:
        assert time.monotonic() < deadline, await admin_view(admin, vid)
        await asyncio.sleep(0.01)
    with b.volume_file(vid).open("r+b") as f:
        f.seek(GiB - 2 * MiB)
        f.write(b"not the guest's bytes")
    failed = await wait_migration(admin, vid)
    assert failed["migration_status"] == "error", failed
    assert failed["status"] == "in-use" and failed["os-vol-host-attr:host"] == a.host
    assert "the copies differ" in fail_reason(stack, vid)
    assert not b.volume_file(vid).exists() and await exports_of(b) == []
    resumed = await wait_written(stack, server["id"], await written(stack, server["id"]) + 16)
    check_blocks(a.volume_file(vid), resumed - 8)

    # 2. The migration that succeeds, while the guest writes.
    before = await written(stack, server["id"])
    started = time.monotonic()
    await admin.volume_action(vid, "os-migrate_volume", {"host": b.host})
    moved = await wait_migration(admin, vid)
    seconds = time.monotonic() - started
    assert moved["migration_status"] == "success", moved
    assert moved["status"] == "in-use" and moved["os-vol-host-attr:host"] == b.host
    after = await written(stack, server["id"])
    assert after > before, "the guest wrote nothing during the migration"
    # The old backend no longer holds the volume, nor exports it; QEMU logged out of it
    # and is logged in to the new one.
    assert not a.volume_file(vid).exists()
    assert await exports_of(a) == [] and len(await exports_of(b)) == 1
    assert await sessions_of(a) == [] and len(await sessions_of(b)) == 1
    # The guest writes on (now to the new backend), then reads the stop mark from it.
    await wait_written(stack, server["id"], after + 16)
    with b.volume_file(vid).open("r+b") as f:
        f.seek(STOP_AT)
        f.write(b"STOP")
    done = int((await console_line(stack.nova, server["id"], "T:DONE")).split()[-1])
    assert done > after + 16
    assert "T:ERR" not in await stack.nova.console(server["id"])
    check_blocks(b.volume_file(vid), done)
    with b.volume_file(vid).open("rb") as f:
        f.seek(FILL_AT)
        assert hashlib.sha256(f.read(len(fill))).digest() == hashlib.sha256(fill).digest()
    paused = stack.volume_svc.manager.migrations.paused[vid]
    data = len(fill) + done * BLOCK
    print(
        f"\nlive migration of 1 GiB holding {data // MiB} MiB: {seconds:.1f} s, "
        f"{data / seconds / 1e6:.1f} MB/s of data ({GiB / seconds / 1e6:.1f} MB/s of volume), "
        f"guest paused {paused:.2f} s; blocks {before}->{after}->{done}"
    )

    # Detach and attach again: the volume's new home serves it.
    await stack.nova.detach_volume(server["id"], vid)
    await stack.volumes.wait_volume(vid, "available")
    assert await exports_of(b) == []
    await stack.nova.attach_volume(server["id"], vid)
    assert (await stack.volumes.get_volume(vid))["status"] == "in-use"
    assert len(await exports_of(b)) == 1 and await exports_of(a) == []
    await stack.nova.delete_server(server["id"])
    await stack.nova.wait_gone(server["id"])
    await stack.volumes.wait_volume(vid, "available")
