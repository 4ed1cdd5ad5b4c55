"""Several backend processes behind one volume API: routing, health, and the two seams
the volume services use (``files``: :class:`~blockstore.backend.VolumeFiles`; ``driver``:
:class:`~blockstore.export.base.ExportDriver`), each call sent to the backend that holds
the volume (``bind``: the records' ``host``, set by the scheduler).

The heartbeat asks every backend for its stats each ``interval``; one that has not
answered for ``down_after`` seconds is down (its volumes become ``error``, the callback
``on_down``), and one that answers again, or answers with a new boot id (it restarted in
between), is up (``on_up``: the reconciler restores its volumes and re-exports them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from blockstore.backend import BackendStats
from blockstore.export.base import ConnectionInfo, ExportSession, ExportSpec, connection_info
from blockstore.manager.errors import BackendError
from blockstore.manager.placement import BackendState, Copied, backend_of, host_name
from blockstore.pool.client import BackendClient
from stratus.private import private_dir

log = logging.getLogger("blockstore.pool")
Callback = Callable[[str], Awaitable[Any]]


@dataclass
class Member:
    """One backend process and what the last heartbeat said."""

    client: BackendClient
    host: str = ""  # host@backend#pool, known after its first answer
    up: bool = False
    stats: BackendStats | None = None
    root: str = ""
    portals: tuple[str, ...] = ()
    boot_id: str = ""
    last_ok: float = 0.0
    exports: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.client.name

    def state(self) -> BackendState:
        host = self.host or host_name("unknown", self.name)  # not heard from yet
        return BackendState(self.name, host, self.up, self.stats if self.up else None)


class BackendPool:
    """The backend processes ``entries`` (name, URL) sharing ``secret``."""

    def __init__(
        self,
        entries: Sequence[tuple[str, str]],
        secret: str,
        *,
        down_after: float = 5.0,
        interval: float = 0.5,
        scratch: Path | None = None,
    ) -> None:
        """``scratch``: a directory of this host where volumes filled from images are
        built before they are sent to their backend (None: such volumes are refused)."""
        self.scratch = scratch
        self.members = {n: Member(BackendClient(n, url, secret)) for n, url in entries}
        self.down_after = down_after
        self.interval = interval
        self.placed: dict[str, str] = {}  # volume or snapshot id -> backend name
        self.files = PoolFiles(self)
        self.driver = PoolDriver(self)
        self._task: asyncio.Task[None] | None = None

    # -- the Pool protocol (blockstore.manager.placement) --------------------------------

    def backends(self) -> list[BackendState]:
        return [m.state() for m in self.members.values()]

    def bind(self, ident: str, host: str) -> None:
        name = backend_of(host)
        if name in self.members:
            self.placed[ident] = name

    def copy_volume(self, volume_id: str, source: str, dest: str, thick: bool) -> Copied:
        src, dst = self._by_host(source), self._by_host(dest)
        return src.client.copy_volume_to(volume_id, dst.client, thick)

    def drop_volume(self, volume_id: str, host: str) -> None:
        self._by_host(host).client.must("DELETE", f"/volumes/{quote(volume_id, safe='')}")

    def create_on(self, host: str, volume_id: str, size: int, thick: bool) -> None:
        body = {"size": size, "thick": thick}
        self._by_host(host).client.must("PUT", f"/volumes/{_q(volume_id)}", body)

    def export_on(self, host: str, spec: ExportSpec) -> tuple[str, ...]:
        m = self._by_host(host)
        path = str(Path(m.root) / "volumes" / f"{spec.volume_id}.img")
        out = m.client.must("PUT", "/exports", asdict(replace(spec, path=path)))
        return tuple(out["portals"])

    def unexport_on(self, host: str, target_iqn: str) -> None:
        self._by_host(host).client.must("DELETE", f"/exports/{_q(target_iqn)}")

    def checksum_on(self, host: str, volume_id: str) -> str:
        out = self._by_host(host).client.must("GET", f"/volumes/{_q(volume_id)}/content_digest")
        return str(out["sha256"])

    # -- routing -------------------------------------------------------------------------

    def member(self, ident: str) -> Member:
        name = self.placed.get(ident)
        m = self.members.get(name) if name else None
        if m is None:
            raise BackendError(f"no backend holds {ident}")
        if not m.up:
            raise BackendError(f"backend {m.host or m.name} is down")
        return m

    def _by_host(self, host: str) -> Member:
        m = self.members.get(backend_of(host))
        if m is None:
            raise BackendError(f"no backend {host}")
        if not m.up:
            raise BackendError(f"backend {host} is down")
        return m

    def up_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.up]

    # -- health --------------------------------------------------------------------------

    async def probe(self, m: Member) -> bool:
        """Ask ``m`` for its stats; True when it answered with a new boot id (restarted)."""
        try:  # a host that drops packets must not hold the heartbeat past down_after
            s = await asyncio.to_thread(m.client.call, "GET", "/stats", timeout=self.down_after)
            if s is None:
                raise BackendError(f"backend {m.name}: no stats")
        except BackendError as exc:
            if m.up and time.monotonic() - m.last_ok > self.down_after:
                log.warning("backend %s stopped answering: %s", m.name, exc)
                m.up = False
            return False
        if s.get("name") != m.name:
            log.error("backend at %s calls itself %r, not %r", m.client.address, s, m.name)
            m.up = False
            return False
        restarted = bool(m.boot_id) and s["boot_id"] != m.boot_id
        m.host = host_name(str(s["host"]), m.name)
        m.stats = BackendStats(int(s["total"]), int(s["free"]), int(s["allocated"]))
        m.root, m.portals, m.boot_id = str(s["root"]), tuple(s["portals"]), str(s["boot_id"])
        m.last_ok, m.up = time.monotonic(), True
        return restarted

    async def start(self) -> None:
        """One probe of every backend (before the first reconcile)."""
        await asyncio.gather(*(self.probe(m) for m in self.members.values()))

    def watch(self, on_down: Callback, on_up: Callback) -> None:
        """Heartbeat in the background, calling back on each change of a backend's state."""
        self._task = asyncio.get_running_loop().create_task(self._watch(on_down, on_up))

    async def _watch(self, on_down: Callback, on_up: Callback) -> None:
        while True:
            await asyncio.sleep(self.interval)
            members = list(self.members.values())
            was = [m.up for m in members]
            probed = await asyncio.gather(*(self.probe(m) for m in members), return_exceptions=True)
            for m, up_before, restarted in zip(members, was, probed, strict=True):
                try:
                    if isinstance(restarted, BaseException):
                        raise restarted
                    if up_before and not m.up:
                        await on_down(m.name)
                    elif m.up and (restarted or not up_before):
                        log.info("backend %s is up (restarted: %s)", m.host, restarted)
                        await on_up(m.name)
                except Exception:
                    log.exception("heartbeat of backend %s", m.name)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _q(ident: str) -> str:
    return quote(ident, safe="")


class PoolFiles:
    """:class:`~blockstore.backend.VolumeFiles` over the pool: each call to the backend
    holding the volume (or the snapshot's volume). Paths are the backend's own."""

    def __init__(self, pool: BackendPool) -> None:
        self.pool = pool

    def _call(self, ident: str, method: str, path: str, body: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        return self.pool.member(ident).client.must(method, path, body)

    def volume_path(self, volume_id: str) -> Path:
        return Path(self.pool.member(volume_id).root) / "volumes" / f"{volume_id}.img"

    def snapshot_path(self, snapshot_id: str) -> Path:
        return Path(self.pool.member(snapshot_id).root) / "snapshots" / f"{snapshot_id}.img"

    def create_volume(self, volume_id: str, size: int, thick: bool = False) -> None:
        self._call(volume_id, "PUT", f"/volumes/{_q(volume_id)}", {"size": size, "thick": thick})

    def clone_volume(self, source: Path, volume_id: str, size: int, *, thick: bool = False) -> str:
        body = {"source": str(source), "size": size, "thick": thick}
        return str(self._call(volume_id, "POST", f"/volumes/{_q(volume_id)}/clone", body)["method"])

    def snapshot_volume(self, volume_id: str, snapshot_id: str) -> str:
        self.pool.placed[snapshot_id] = self.pool.member(volume_id).name
        body = {"volume_id": volume_id}
        return str(self._call(volume_id, "PUT", f"/snapshots/{_q(snapshot_id)}", body)["method"])

    def volume_reader(self, volume_id: str) -> RemoteReader:
        return RemoteReader(self.pool.member(volume_id).client, "volumes", volume_id)

    def snapshot_reader(self, snapshot_id: str) -> RemoteReader:
        return RemoteReader(self.pool.member(snapshot_id).client, "snapshots", snapshot_id)

    def volume_writer(self, volume_id: str) -> RemoteWriter:
        return RemoteWriter(self.pool.member(volume_id).client, volume_id)

    def _scratch(self, volume_id: str) -> Path:
        if self.pool.scratch is None:
            raise BackendError("volumes from images need a scratch directory on this host")
        if not volume_id or "/" in volume_id or volume_id.startswith("."):
            raise BackendError(f"bad volume id {volume_id!r}")
        return self.pool.scratch / f"{volume_id}.part"

    def open_partial_volume(self, volume_id: str) -> tuple[int, Path]:
        """A partial file in this host's scratch directory (an image is written, or
        converted by qemu-img, into it); :meth:`commit_partial_volume` sends it."""
        path = self._scratch(volume_id)
        private_dir(path.parent)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600), path

    def commit_partial_volume(
        self, volume_id: str, fd: int, size: int, thick: bool = False
    ) -> None:
        """Send the partial file (closes ``fd``) to the volume's backend, which builds the
        volume from its data extents; verified by checksum at both ends, then dropped here."""
        path = self._scratch(volume_id)
        try:
            os.ftruncate(fd, max(size, os.fstat(fd).st_size))
        finally:
            os.close(fd)
        m = self.pool.member(volume_id)
        try:
            copied = m.client.put_volume_file(volume_id, path, size, thick)
        finally:
            path.unlink(missing_ok=True)
        log.info("volume %s sent to %s: %d bytes on the wire", volume_id, m.name, copied.sent)

    def extend_volume(self, volume_id: str, size: int, thick: bool = False) -> None:
        body = {"size": size, "thick": thick}
        self._call(volume_id, "POST", f"/volumes/{_q(volume_id)}/extend", body)

    def delete_volume(self, volume_id: str) -> None:
        if volume_id in self.pool.placed:
            self._call(volume_id, "DELETE", f"/volumes/{_q(volume_id)}")

    def delete_snapshot(self, snapshot_id: str) -> None:
        if snapshot_id in self.pool.placed:
            self._call(snapshot_id, "DELETE", f"/snapshots/{_q(snapshot_id)}")

    def discard_partial_volume(self, volume_id: str) -> None:
        with contextlib.suppress(BackendError):
            self._scratch(volume_id).unlink(missing_ok=True)
        with contextlib.suppress(BackendError):
            self._call(volume_id, "DELETE", f"/volumes/{_q(volume_id)}?partial=1")

    def discard_partial_snapshot(self, snapshot_id: str) -> None:
        with contextlib.suppress(BackendError):
            self._call(snapshot_id, "DELETE", f"/snapshots/{_q(snapshot_id)}?partial=1")

    def volume_size(self, volume_id: str) -> int | None:
        m = self.pool.member(volume_id)
        out = m.client.call("GET", f"/volumes/{_q(volume_id)}", missing_ok=True)
        return None if out is None else int(out["size"])

    def snapshot_exists(self, snapshot_id: str) -> bool:
        m = self.pool.member(snapshot_id)
        return m.client.call("GET", f"/snapshots/{_q(snapshot_id)}", missing_ok=True) is not None

    def stats(self) -> BackendStats:
        """The sum over the backends that answer (quota-style checks of the whole pool)."""
        up = [m.stats for m in self.pool.up_members() if m.stats is not None]
        return BackendStats(
            sum(s.total for s in up), sum(s.free for s in up), sum(s.allocated for s in up)
        )

    def clean_tmp(self) -> None:
        if self.pool.scratch is not None:
            shutil.rmtree(self.pool.scratch, ignore_errors=True)
        for m in self.pool.up_members():
            m.client.must("POST", "/clean_tmp")


class RemoteReader:
    """:class:`~blockstore.backend.volumeio.VolumeReader` of a backend process's volume or
    snapshot: each call one range request (the engine keeps a bounded number in flight)."""

    def __init__(self, client: BackendClient, kind: str, ident: str) -> None:
        self.client, self.kind, self.ident = client, kind, ident

    def data_chunks(self, size: int, chunk_size: int) -> set[int]:
        return self.client.data_map(self.kind, self.ident, size, chunk_size)

    def read(self, offset: int, length: int) -> bytes:
        return self.client.read_range(self.kind, self.ident, offset, length)

    def close(self) -> None:
        return None


class RemoteWriter:
    """:class:`~blockstore.backend.volumeio.VolumeWriter` of a backend process's volume."""

    def __init__(self, client: BackendClient, volume_id: str) -> None:
        self.client, self.volume_id = client, volume_id

    def write(self, offset: int, data: bytes, digest: bytes) -> None:
        self.client.write_range(self.volume_id, offset, data, digest)

    def zero(self, offset: int, length: int) -> None:
        self.client.zero_range(self.volume_id, offset, length)

    def flush(self) -> None:
        self.client.flush_volume(self.volume_id)

    def close(self) -> None:
        return None


class PoolDriver:
    """:class:`~blockstore.export.base.ExportDriver` over the backends' targets."""

    name = "pool"

    def __init__(self, pool: BackendPool) -> None:
        self.pool = pool

    @property
    def portals(self) -> Sequence[str]:
        return [p for m in self.pool.up_members() for p in m.portals]

    def portals_for(self, target_iqn: str) -> Sequence[str]:
        try:
            return self._member(target_iqn).portals
        except BackendError:
            return ()

    def _member(self, target_iqn: str) -> Member:
        return self.pool.member(target_iqn.rpartition(":volume-")[2])

    async def ensure_export(self, spec: ExportSpec) -> ConnectionInfo:
        m = self.pool.member(spec.volume_id)
        body = asdict(spec)
        out = await asyncio.to_thread(m.client.must, "PUT", "/exports", body)
        return connection_info(spec, tuple(out["portals"]))

    async def remove_export(self, target_iqn: str) -> None:
        ident = target_iqn.rpartition(":volume-")[2]
        targets = [self.pool.member(ident)] if ident in self.pool.placed else []
        for m in targets or self.pool.up_members():
            await asyncio.to_thread(m.client.must, "DELETE", f"/exports/{_q(target_iqn)}")

    async def list_exports(self) -> list[str]:
        out: list[str] = []
        for m in self.pool.up_members():
            got = await asyncio.to_thread(m.client.must, "GET", "/exports")
            out.extend(str(x) for x in got["exports"])
        return out

    async def sessions(self) -> list[ExportSession]:
        out: list[ExportSession] = []
        for m in self.pool.up_members():
            got = await asyncio.to_thread(m.client.must, "GET", "/sessions")
            out.extend(ExportSession(**s) for s in got["sessions"])
        return out

    @contextlib.asynccontextmanager
    async def quiesce(self, target_iqn: str) -> AsyncIterator[None]:
        """A no-op here: the backend holds its LUN's writes itself while it copies."""
        yield

    async def extend_export(self, target_iqn: str) -> None:
        m = self._member(target_iqn)
        await asyncio.to_thread(m.client.must, "POST", f"/exports/{_q(target_iqn)}/extend")

    async def close(self) -> None:
        await self.pool.close()
