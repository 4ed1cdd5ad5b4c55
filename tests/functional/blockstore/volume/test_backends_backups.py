"""Backups, restores and volumes from images when the volumes live in backend processes
(`stratus volume backend`, started "elsewhere": the paths they report name nothing here,
so the API reaches their bytes only through their internal API, as across hosts).

A real object store (one node) holds the backups and the images; the volume services run
in this process over the pool of two backends. Bytes are checked end to end, on the
backends' own files.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from blockstore.backend.volumeio import range_digest
from blockstore.backup import chunks
from blockstore.backup.manifest import Manifest, object_name
from blockstore.backup.objects import ObjectAccess
from blockstore.manager import Store
from blockstore.manager.core import BackupSettings, GiB
from blockstore.manager.records import Backup, Volume
from blockstore.pool.pool import BackendPool
from blockstore.pool.wire import DIGEST_HEADER, MAX_RANGE, TOKEN_HEADER
from blockstore.services import VolumeServices
from tests.functional.blockstore.volume.backend_procs import (
    SECRET,
    BackendProc,
    MiB,
    head,
    sha256_of,
)
from tests.functional.blockstore.volume.conftest import ADMIN, ALICE, small_settings
from tests.helpers import badimages
from tests.helpers.net import free_port
from tests.helpers.tools import need_tool


@dataclass
class Remote:
    manager: VolumeServices
    pool: BackendPool
    backends: dict[str, BackendProc]
    objects: ObjectAccess
    scratch: Path

    async def idle(self) -> None:
        await self.manager.wait_idle()

    def where(self, volume_id: str) -> BackendProc:
        vol = self.manager.get_volume(ALICE, volume_id)
        return next(b for b in self.backends.values() if b.host == vol.host)

    def file(self, volume_id: str) -> Path:
        return self.where(volume_id).volume_file(volume_id)


@pytest.fixture
async def remote(tmp_path: Path, make_cluster: Any) -> AsyncIterator[Remote]:
    cluster = await make_cluster(nodes=1, replicas=1)
    cluster.token("alpha", "alice")  # the project and user the tests act as
    backends = {
        name: BackendProc(name, tmp_path / name, free_port(), free_port(), 10, elsewhere=True)
        for name in ("one", "two")
    }
    for b in backends.values():
        b.root.mkdir()
    await asyncio.gather(*(b.start() for b in backends.values()))
    scratch = tmp_path / "api" / "scratch"
    pool = BackendPool(
        [(b.name, b.url) for b in backends.values()], SECRET, down_after=1.0, scratch=scratch
    )
    await pool.start()
    settings = small_settings()
    settings.backup = BackupSettings(chunk_size=MiB, concurrency=4)
    store = Store(tmp_path / "api" / "records")
    objects = ObjectAccess(cluster.url, cluster.identity)
    manager = VolumeServices(store, pool.files, pool.driver, settings, objects=objects, pool=pool)
    try:
        await manager.start()
        pool.watch(manager.reconciler.backend_down, manager.reconciler.backend_up)
        for name in backends:
            await manager.create_type(
                ADMIN, f"on-{name}", extra_specs={"volume_backend_name": name}
            )
        yield Remote(manager, pool, backends, objects, scratch)
    finally:
        await manager.close()
        await pool.driver.close()
        store.close()
        await objects.close()
        for b in backends.values():
            await b.kill(signal.SIGTERM)


async def volume_on(r: Remote, backend: str, writes: dict[int, bytes], size: int = 1) -> Volume:
    vol = await r.manager.create_volume(ALICE, size=size, volume_type=f"on-{backend}")
    await r.idle()
    vol = r.manager.get_volume(ALICE, vol.id)
    assert vol.status == "available" and vol.host == r.backends[backend].host, vol
    # Nothing of the volume is reachable by the path the backend reports.
    assert not r.pool.files.volume_path(vol.id).exists()
    write(r.backends[backend].volume_file(vol.id), writes)
    return vol


def write(path: Path, writes: dict[int, bytes]) -> None:
    with open(path, "r+b") as f:
        for offset, data in writes.items():
            f.seek(offset)
            f.write(data)


async def backed_up(r: Remote, vol: Volume, **kw: Any) -> Backup:
    bk = await r.manager.create_backup(ALICE, vol.id, **kw)
    await r.idle()
    bk = r.manager.get_backup(ALICE, bk.id)
    assert bk.status == "available", bk.fail_reason
    return bk


async def restored(r: Remote, bk: Backup, **kw: Any) -> Volume:
    _bk, vol = await r.manager.restore_backup(ALICE, bk.id, **kw)
    await r.idle()
    vol = r.manager.get_volume(ALICE, vol.id)
    assert vol.status == "available", vol.fail_reason
    assert r.manager.get_backup(ALICE, bk.id).status == "available"
    return vol


async def test_full_and_incremental_backups_and_restores_over_the_backends_api(
    remote: Remote,
) -> None:
    rnd, text = os.urandom(MiB), b"stratus " * (MiB // 8)
    vol = await volume_on(remote, "one", {0: rnd, 2 * MiB: rnd, 5 * MiB: text, 9 * MiB: bytes(MiB)})
    at_full = sha256_of(remote.file(vol.id))
    full = await backed_up(remote, vol, name="full")
    assert remote.manager.get_volume(ALICE, vol.id).status == "available"  # backing-up ended
    # chunks 0 and 2 are the same bytes, 9 is zeros, the rest holes never read
    assert (full.object_count, full.chunk_count, full.progress) == (2, 1024, 100.0)
    assert full.stored_bytes < MiB + MiB // 4  # the text chunk compressed

    write(remote.file(vol.id), {5 * MiB: os.urandom(MiB)})
    at_inc = sha256_of(remote.file(vol.id))
    inc = await backed_up(remote, vol, incremental=True)
    assert inc.parent_id == full.id and inc.object_count == 1  # only the changed chunk

    # A new volume from the incremental: the scheduler places it (two has more room).
    new = await restored(remote, inc, name="copy")
    assert new.host == remote.backends["two"].host and new.size == 1
    assert sha256_of(remote.file(new.id)) == at_inc
    assert remote.file(new.id).stat().st_blocks * 512 < 8 * MiB  # holes stayed holes

    # Into an existing volume on the other backend: its junk is overwritten or punched out.
    target = await volume_on(
        remote, "two", {0: b"junk" * 1024, 5 * MiB: b"x" * MiB, 700 * MiB: b"y" * MiB}
    )
    back = await restored(remote, full, volume_id=target.id)
    assert back.id == target.id and sha256_of(remote.file(target.id)) == at_full
    assert head(remote.file(target.id), MiB, 700 * MiB) == bytes(MiB)


async def test_an_in_use_volume_is_read_through_a_snapshot_on_its_backend(
    remote: Remote,
) -> None:
    vol = await volume_on(remote, "two", {0: b"live" * 1024, 3 * MiB: os.urandom(MiB)})
    before = sha256_of(remote.file(vol.id))

    def in_use(t: Any) -> None:
        cur = t.get(Volume, vol.project, vol.id)
        cur.status = "in-use"
        t.put(cur)

    await remote.manager.store.write(in_use)
    bk = await backed_up(remote, vol, force=True)
    assert bk.object_count == 2
    assert list((remote.backends["two"].files / "snapshots").iterdir()) == []  # dropped
    new = await restored(remote, bk)
    assert sha256_of(remote.file(new.id)) == before


async def test_a_restore_that_fails_leaves_the_volume_in_error_restoring(
    remote: Remote,
) -> None:
    vol = await volume_on(remote, "one", {0: os.urandom(MiB)})
    bk = await backed_up(remote, vol)
    client = await remote.objects.client("alpha", "alice")
    man = Manifest.decode(await client.get_object("volume_backups", object_name(bk.id)))
    (dig,) = man.digests()
    body = bytearray(await client.get_object("volume_backups", chunks.object_name(dig)))
    body[-1] ^= 0xFF
    await client.put_object("volume_backups", chunks.object_name(dig), bytes(body))
    _bk, new = await remote.manager.restore_backup(ALICE, bk.id)
    await remote.idle()
    new = remote.manager.get_volume(ALICE, new.id)
    assert new.status == "error_restoring" and "digest" in (new.fail_reason or "")
    assert remote.manager.get_backup(ALICE, bk.id).status == "available"


async def test_a_backup_whose_backend_is_down_is_error(remote: Remote) -> None:
    vol = await volume_on(remote, "one", {0: os.urandom(MiB)})
    remote.pool.down_after = 600.0  # not yet marked down: the backup itself meets the silence
    await remote.backends["one"].kill()
    bk = await remote.manager.create_backup(ALICE, vol.id)
    await remote.idle()
    bk = remote.manager.get_backup(ALICE, bk.id)
    assert bk.status == "error" and "one" in (bk.fail_reason or ""), bk.fail_reason


async def upload(r: Remote, name: str, body: bytes) -> str:
    client = await r.objects.client("alpha", "alice")
    await client.put_container("images")
    await client.put_object("images", name, body)
    return f"images/{name}"


async def from_image(r: Remote, ref: str, backend: str = "two") -> Volume:
    vol = await r.manager.create_volume(ALICE, size=1, image_ref=ref, volume_type=f"on-{backend}")
    await r.idle()
    return r.manager.get_volume(ALICE, vol.id)


async def test_volumes_from_images_are_built_here_and_sent_verified(
    remote: Remote, tmp_path: Path
) -> None:
    image = os.urandom(MiB) + bytes(6 * MiB) + b"tail" * 1024
    vol = await from_image(remote, await upload(remote, "disk.raw", image))
    assert vol.status == "available" and vol.bootable, vol.fail_reason
    path = remote.file(vol.id)
    assert path.stat().st_size == GiB and path.stat().st_blocks * 512 < 4 * MiB  # sparse
    assert head(path, len(image)) == image
    assert list(remote.scratch.iterdir()) == []  # the partial file here is gone

    need_tool("qemu-img", "qemu-utils")
    work = tmp_path / "made"
    work.mkdir()
    plain = badimages.plain_qcow2(work, b"q2").read_bytes()
    vol = await from_image(remote, await upload(remote, "plain", plain))
    assert vol.status == "available", vol.fail_reason
    assert head(remote.file(vol.id), 2) == b"q2"

    # The image safety checks hold: nothing QEMU would open a host file for, nothing larger
    # than the volume; such volumes are error and leave no file, here or on the backend.
    secret = badimages.HostSecret.make(tmp_path / "host")
    bad = {
        "backing": (badimages.qcow2_with_backing(work, secret.path), "refused"),
        "vmdk": (badimages.vmdk_descriptor(work, secret.path), "refused"),
        "huge": (badimages.huge_qcow2(work, "8T"), "larger than the volume"),
    }
    for name, (made, why) in bad.items():
        vol = await from_image(remote, await upload(remote, name, made.read_bytes()))
        assert vol.status == "error" and why in (vol.fail_reason or ""), (name, vol)
        assert not remote.backends["two"].volume_file(vol.id).exists()
    assert list(remote.scratch.iterdir()) == []
    for b in remote.backends.values():
        assert secret.seen_anywhere(b.root) == []
    assert list((remote.backends["two"].files / "tmp").iterdir()) == []


async def test_the_range_api_is_authenticated_bounded_and_checked(remote: Remote) -> None:
    data = os.urandom(MiB)
    vol = await volume_on(remote, "one", {4 * MiB: data})
    one = remote.backends["one"]
    base = f"{one.url}/volumes/{vol.id}"
    auth = {TOKEN_HEADER: SECRET}
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/range?offset=0&length=4096") as r:
            assert r.status == 401  # no secret
        async with s.get(f"{base}/range?offset=0&length=4096", headers={TOKEN_HEADER: "x"}) as r:
            assert r.status == 401
        async with s.get(f"{base}/range?offset={4 * MiB}&length={MiB}", headers=auth) as r:
            assert r.status == 200 and await r.read() == data
            assert r.headers[DIGEST_HEADER] == range_digest(data).hex()
        async with s.get(f"{base}/range?offset=0&length={MAX_RANGE + 1}", headers=auth) as r:
            assert r.status == 400
        async with s.get(f"{base}/map?size={GiB}&chunk_size={MiB}", headers=auth) as r:
            bits = await r.read()
            assert len(bits) == 128 and bits[0] == 0x10 and not any(bits[1:])  # chunk 4
        async with s.get(f"{one.url}/volumes/..%2Fx/range?offset=0&length=1", headers=auth) as r:
            assert r.status in (400, 404)

        new = os.urandom(4096)
        digest = {**auth, DIGEST_HEADER: range_digest(new).hex()}
        wrong = {**auth, DIGEST_HEADER: range_digest(b"other").hex()}
        async with s.put(f"{base}/range?offset=0", data=new, headers=wrong) as r:
            assert r.status == 400  # the bytes are not what the digest names
        async with s.put(f"{base}/range?offset={GiB - 100}", data=new, headers=digest) as r:
            assert r.status == 400  # past the volume's end
        assert head(one.volume_file(vol.id), 4096) == bytes(4096)
        async with s.put(f"{base}/range?offset=0", data=new, headers=digest) as r:
            assert r.status == 200
        assert head(one.volume_file(vol.id), 4096) == new
        async with s.post(f"{base}/zero?offset={4 * MiB}&length={MiB}", headers=auth) as r:
            assert r.status == 200
        assert head(one.volume_file(vol.id), MiB, 4 * MiB) == bytes(MiB)

    # A body declared larger than a range is refused before a byte of it is read.
    reader, writer = await asyncio.open_connection("127.0.0.1", one.port)
    writer.write(
        f"PUT /volumes/{vol.id}/range?offset=0 HTTP/1.1\r\nHost: x\r\n"
        f"{TOKEN_HEADER}: {SECRET}\r\n{DIGEST_HEADER}: {range_digest(b'').hex()}\r\n"
        f"Content-Length: {MAX_RANGE + 1}\r\n\r\n".encode()
    )
    status = await asyncio.wait_for(reader.readline(), 10)
    assert status.split()[1] == b"400", status
    writer.close()


async def test_a_volume_file_damaged_on_its_way_is_refused_and_dropped(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload of a volume built here (from an image) counts only if the backend got
    the bytes hashed here: one byte flipped on the way, and the backend's copy is deleted."""
    from blockstore.manager.errors import BackendError
    from blockstore.pool import wire

    built = tmp_path / "built.img"
    with open(built, "wb") as f:
        f.truncate(64 * MiB)
        f.seek(3 * MiB)
        f.write(os.urandom(MiB))

    frames = wire.frames

    def damaged(path: Path) -> Any:
        for i, frame in enumerate(frames(path)):
            yield frame[:-1] + bytes([frame[-1] ^ 1]) if i == 0 else frame

    monkeypatch.setattr(wire, "frames", damaged)
    two = remote.backends["two"]
    member = remote.pool.members["two"]
    with pytest.raises(BackendError, match="does not match"):
        await asyncio.to_thread(member.client.put_volume_file, "vol-x", built, 64 * MiB, False)
    assert not two.volume_file("vol-x").exists()
    monkeypatch.undo()
    copied = await asyncio.to_thread(member.client.put_volume_file, "vol-x", built, 64 * MiB, False)
    assert copied.sent < 2 * MiB and sha256_of(two.volume_file("vol-x")) == sha256_of(built)


async def test_a_restart_drops_a_backups_temporary_snapshot_on_its_backend(
    remote: Remote,
) -> None:
    vol = await volume_on(remote, "one", {0: b"x" * 4096})
    creating = Backup(
        project="alpha", user="alice", volume_id=vol.id, status="creating", container="c"
    )
    await remote.manager.store.write(lambda t: t.put(creating))
    snap = f"backup-{creating.id}"  # what an in-use backup reads, left by a stop
    await asyncio.to_thread(remote.pool.files.snapshot_volume, vol.id, snap)
    one = remote.backends["one"]
    assert one.snapshot_file(snap).exists()
    del remote.pool.placed[snap]  # a restarted API knows only its records' snapshots
    out = await remote.manager.reconciler.reconcile()
    assert out.changed[creating.id] == "error"
    assert not one.snapshot_file(snap).exists()
