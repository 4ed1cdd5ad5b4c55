"""The backup service: create (full / incremental), restore (into a new or
an existing volume), delete (freeing only unshared chunks), verify, list, show.

Backups live in the owner project's account, container ``backup.container``:
``chunks/<digest>`` and ``manifests/<backup id>``. A full backup uploads
every non-zero chunk it reads (once per distinct content); an incremental
one (parent: the volume's newest available backup) skips any chunk an
existing manifest of the project already names. Deleting recomputes what
every other manifest references and removes the rest (orphans of a crashed
backup included); backups being made hold the project's chunk gate shared
and deletes hold it exclusive, so a chunk can never be deleted while a new
manifest is about to name it. An in-use volume (``force``) is read through
a temporary snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from blockstore.backup import chunks, engine
from blockstore.backup.manifest import Manifest, ManifestError, max_bytes
from blockstore.backup.manifest import object_name as manifest_name
from blockstore.backup.objects import ObjectAccess, TooLarge, read_capped, required
from blockstore.manager import quotas, states, validate
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, GiB, must_be_cloud_admin, must_write
from blockstore.manager.errors import BackendError, BadRequest, NotFound
from blockstore.manager.exports import Exports
from blockstore.manager.reconcile import RESTART, Reconciled
from blockstore.manager.records import Backup, Volume
from blockstore.manager.store import Txn
from blockstore.manager.table import Table, attachments_of, must_get
from blockstore.manager.types import VolumeTypes
from blockstore.manager.volumes import schedule
from blockstore.scsi.gate import SharedExclusive
from objectstore.apiclient import NotFound as ObjectNotFound
from objectstore.apiclient import SwiftClient

log = logging.getLogger("blockstore.backup")
PROGRESS_EVERY = 0.5  # seconds between progress writes to the record
BUSY = (states.BK_CREATING, states.BK_RESTORING, states.BK_VERIFYING)


def temp_snapshot_id(backup_id: str) -> str:
    return f"backup-{backup_id}"


class Backups:
    """Backups of the context's volumes into ``objects`` (None: backups are refused);
    ``exports`` holds an in-use volume's writes while its temporary snapshot is taken,
    ``types`` gives a restored volume its type."""

    def __init__(
        self,
        ctx: Context,
        objects: ObjectAccess | None,
        exports: Exports,
        types: VolumeTypes,
    ) -> None:
        self.ctx = ctx
        self.objects = objects
        self.exports = exports
        self.types = types
        self.table = Table(ctx, Backup, "Backup")
        self._gates: dict[str, SharedExclusive] = {}

    def gate(self, project: str) -> SharedExclusive:
        return self._gates.setdefault(project, SharedExclusive())

    def _objects(self) -> ObjectAccess:
        return required(self.objects)

    # -- create ----------------------------------------------------------------------

    async def create_backup(
        self,
        caller: Caller,
        volume_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        incremental: bool = False,
        force: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> Backup:
        """Values as ``blockstore.api.requests.BackupCreate`` parses them (checked again
        here for direct callers)."""
        must_write(caller)
        self._objects()
        if not isinstance(volume_id, str):
            raise BadRequest("Invalid input received: a backup needs a volume_id.")
        name = validate.text(name, "name")
        description = validate.text(description, "description", validate.MAX_DESCRIPTION)
        incremental = validate.boolean(incremental, "incremental")
        force = validate.boolean(force, "force")
        metadata = validate.metadata(metadata)
        container = self.ctx.settings.backup.container

        def txn(t: Txn) -> Backup:
            vol = must_get(t, Volume, caller, volume_id, "Volume")
            allowed = states.CAN_BACKUP_FORCED if force else states.CAN_BACKUP
            states.require("volume", vol.id, vol.status, allowed)
            quotas.check(
                t,
                caller.project,
                self.ctx.settings.quota_defaults,
                {"backups": 1, "backup_gigabytes": vol.size},
            )
            parent = None
            if incremental:
                done = [
                    b
                    for b in t.scan(Backup, vol.project)
                    if b.volume_id == vol.id and b.status == states.BK_AVAILABLE
                ]
                if not done:
                    raise BadRequest(
                        "Invalid backup: No backups available to do an incremental backup."
                    )
                parent = max(done, key=lambda b: b.created_at).id
            bk = Backup(
                project=vol.project,
                user=caller.user,
                volume_id=vol.id,
                name=name,
                description=description,
                size=vol.size,
                container=container,
                incremental=incremental,
                parent_id=parent,
                metadata=metadata,
                volume_previous_status=vol.status,
            )
            t.put(bk)
            if vol.status == states.AVAILABLE:
                vol.previous_status, vol.status = vol.status, states.BACKING_UP
                t.put(vol)
            return bk

        bk = await self.ctx.store.write(txn)
        self.ctx.spawn(self._run_backup(bk), f"backup {bk.id}")
        return bk

    async def _run_backup(self, bk: Backup) -> None:
        snap_id = None
        uploaded: set[bytes] = set()
        try:
            async with self.gate(bk.project).shared():
                client = await self._objects().client(bk.project, bk.user)
                await client.put_container(bk.container)
                if bk.volume_previous_status == states.IN_USE:
                    snap_id = temp_snapshot_id(bk.id)
                    async with self.exports.quiesced(bk.volume_id):
                        await self.ctx.io(self.ctx.backend.snapshot_volume, bk.volume_id, snap_id)
                known = await self._known_chunks(client, bk) if bk.incremental else set()
                result = await self._upload(client, bk, snap_id, known)
                uploaded = {d for d in result.chunks if d is not None} - known
                man = Manifest(
                    backup_id=bk.id,
                    volume_id=bk.volume_id,
                    size=bk.size * GiB,
                    chunk_size=self.ctx.settings.backup.chunk_size,
                    chunks=result.chunks,
                    parent_id=bk.parent_id,
                    incremental=bk.incremental,
                    compression=self.ctx.settings.backup.compression,
                )
                await client.put_object(bk.container, manifest_name(bk.id), man.encode())
        except Exception as exc:
            log.exception("backup %s failed", bk.id)
            await self._drop_temp_snapshot(snap_id)
            await self._end_backup(bk, None, reason=str(exc))
            if uploaded:
                self.ctx.spawn(self._collect(bk, uploaded), f"clean failed backup {bk.id}")
        else:
            await self._drop_temp_snapshot(snap_id)
            await self._end_backup(bk, result)
            log.info(
                "backup %s: %d chunks, %d uploaded (%d bytes)",
                bk.id,
                len(result.chunks),
                result.uploaded,
                result.stored_bytes,
            )
        finally:
            await self._drop_temp_snapshot(snap_id)  # cancelled: gone all the same

    async def _upload(
        self, client: SwiftClient, bk: Backup, snap_id: str | None, known: set[bytes]
    ) -> engine.BackupResult:
        """The volume's chunks (or its temporary snapshot's) into the object store, read
        where the backend holds them (this process, or a backend process by range)."""
        if snap_id is not None:
            source = await self.ctx.io(self.ctx.backend.snapshot_reader, snap_id)
        else:
            source = await self.ctx.io(self.ctx.backend.volume_reader, bk.volume_id)
        try:
            return await engine.backup_file(
                client,
                bk.container,
                source,
                bk.size * GiB,
                chunk_size=self.ctx.settings.backup.chunk_size,
                codec=chunks.codec_for(self.ctx.settings.backup.compression),
                known=known,
                concurrency=self.ctx.settings.backup.concurrency,
                progress=self._progress(bk),
            )
        finally:
            await self.ctx.io(source.close)

    async def _drop_temp_snapshot(self, snap_id: str | None) -> None:
        """Before the backup leaves creating: a power cut in between leaves a creating
        backup, whose reconcile removes the file; after it, nothing would (an orphan)."""
        if snap_id is not None:
            await self.ctx.io(self.ctx.backend.delete_snapshot, snap_id)

    async def _end_backup(
        self, bk: Backup, result: engine.BackupResult | None, *, reason: str | None = None
    ) -> None:
        def txn(t: Txn) -> None:
            cur = t.get(Backup, bk.project, bk.id)
            if cur is not None and cur.status == states.BK_CREATING:
                if result is None:
                    cur.status, cur.fail_reason = states.BK_ERROR, reason
                else:
                    cur.status, cur.progress = states.BK_AVAILABLE, 100.0
                    cur.object_count, cur.stored_bytes = result.uploaded, result.stored_bytes
                    cur.chunk_count = len(result.chunks)
                t.put(cur)
            self._release_volume(t, bk.project, bk.volume_id, states.BACKING_UP)

        await self.ctx.store.write(txn)

    def _release_volume(self, t: Txn, project: str, volume_id: str, busy: str) -> None:
        vol = t.get(Volume, project, volume_id)
        if vol is not None and vol.status == busy:
            vol.status = states.settled_volume_status([a.status for a in attachments_of(t, vol)])
            vol.previous_status = None
            t.put(vol)

    def _progress(self, bk: Backup) -> Callable[[int, int], None]:
        """A progress callback that writes the record at most every PROGRESS_EVERY seconds."""
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY or done >= total:
                return
            last[0] = now
            pct = 100.0 * done / max(total, 1)

            def txn(t: Txn) -> None:
                cur = t.get(Backup, bk.project, bk.id)
                if cur is not None and cur.status in BUSY:
                    cur.progress = pct
                    t.put(cur)

            self.ctx.spawn(self.ctx.store.write(txn), f"progress of backup {bk.id}")

        return report

    async def _manifests(self, client: SwiftClient, project: str, skip: str) -> list[Manifest]:
        """Manifests of the project's other backups that are (or may become) kept."""
        others = [
            b
            for b in self.ctx.store.scan(Backup, project)
            if b.id != skip and b.status not in (states.BK_ERROR,)
        ]
        found = []
        for other in others:
            man = await self.load_manifest(client, other)
            if man is not None:
                found.append(man)
        return found

    async def _known_chunks(self, client: SwiftClient, bk: Backup) -> set[bytes]:
        known: set[bytes] = set()
        for man in await self._manifests(client, bk.project, bk.id):
            known |= man.digests()
        return known

    async def load_manifest(self, client: SwiftClient, bk: Backup) -> Manifest | None:
        size = bk.size * GiB  # the records' size and count: the object is the tenant's to edit
        count = bk.chunk_count or None  # 0: not recorded (a backup still being made)
        limit = max_bytes(size, count)
        try:
            raw = await read_capped(client, bk.container, manifest_name(bk.id), limit)
        except ObjectNotFound:
            return None
        except TooLarge as exc:
            log.error("manifest of backup %s is too large", bk.id)
            raise ManifestError(f"manifest of backup {bk.id} is too large: {exc}") from None
        try:
            return Manifest.decode(raw, backup_id=bk.id, size=size, chunks=count)
        except ManifestError:
            log.error("manifest of backup %s is unreadable", bk.id)
            raise

    # -- delete ----------------------------------------------------------------------

    async def delete_backup(self, caller: Caller, backup_id: str) -> None:
        must_write(caller)

        def txn(t: Txn) -> Backup:
            bk = self.table.must_get(t, caller, backup_id)
            states.require("backup", bk.id, bk.status, states.BK_CAN_DELETE)
            bk.status = states.BK_DELETING
            t.put(bk)
            return bk

        bk = await self.ctx.store.write(txn)
        self.ctx.spawn(self.finish_backup_delete(bk), f"delete backup {bk.id}")

    async def finish_backup_delete(self, bk: Backup) -> None:
        try:
            client = await self._objects().client(bk.project, bk.user)
            man = await self.load_manifest(client, bk)
            await self._collect(bk, man.digests() if man is not None else set())
            await client.delete_object(bk.container, manifest_name(bk.id))
        except Exception as exc:
            log.exception("deleting backup %s failed", bk.id)
            reason = str(exc)
            await self.table.transition(bk, None, states.BK_ERROR_DELETING, fail_reason=reason)
            return
        await self.table.forget(bk)
        log.info("backup %s deleted", bk.id)

    async def _collect(self, bk: Backup, candidates: set[bytes]) -> int:
        """Delete the chunks no other manifest of the project names: ``candidates``, and
        any orphan a crashed backup left (no backup runs while the gate is held)."""
        async with self.gate(bk.project).exclusive():
            client = await self._objects().client(bk.project, bk.user)
            used: set[bytes] = set()
            for man in await self._manifests(client, bk.project, bk.id):
                used |= man.digests()
            stored = set()
            async for row in client.iter_objects(bk.container, prefix=chunks.PREFIX):
                dig = chunks.digest_of_name(row.name)
                if dig is not None:
                    stored.add(dig)
            return await engine.delete_chunks(client, bk.container, (candidates | stored) - used)

    # -- restore ---------------------------------------------------------------------

    async def restore_backup(
        self, caller: Caller, backup_id: str, *, volume_id: Any = None, name: Any = None
    ) -> tuple[Backup, Volume]:
        must_write(caller)
        self._objects()
        name = validate.text(name, "name") if name is not None else None
        if volume_id is not None and not isinstance(volume_id, str):
            raise BadRequest("Invalid input received: volume_id must be a string.")
        stats = await self.ctx.io(self.ctx.backend.stats) if self.ctx.pool is None else None

        def txn(t: Txn) -> tuple[Backup, Volume, bool]:
            bk = self.table.must_get(t, caller, backup_id)
            states.require("backup", bk.id, bk.status, frozenset({states.BK_AVAILABLE}))
            if volume_id is not None:
                vol = must_get(t, Volume, caller, volume_id, "Volume")
                states.require("volume", vol.id, vol.status, states.CAN_RESTORE_INTO)
                if attachments_of(t, vol):
                    raise BadRequest(f"Invalid volume {vol.id}: it is attached.")
                if vol.size < bk.size:
                    raise BadRequest(
                        f"Invalid volume {vol.id}: volume size {vol.size}G is "
                        f"smaller than the backup's {bk.size}G."
                    )
                fresh = False
            else:
                quotas.check(
                    t,
                    caller.project,
                    self.ctx.settings.quota_defaults,
                    {"volumes": 1, "gigabytes": bk.size},
                )
                vt = self.types.resolve_type(t, caller, None)
                vol = Volume(
                    project=caller.project,
                    user=caller.user,
                    size=bk.size,
                    name=name or f"restore_backup_{bk.id}",
                    volume_type_id=vt.id,
                )
                schedule(self.ctx, t, vol, vt, stats)  # as Cinder: fails the restore
                if vol.status == states.ERROR:
                    raise BadRequest(f"Invalid volume: {vol.fail_reason}")
                fresh = True
            vol.status, vol.backup_id = states.RESTORING, bk.id
            bk.status, bk.restore_volume_id, bk.progress = states.BK_RESTORING, vol.id, 0.0
            t.put(vol)
            t.put(bk)
            return bk, vol, fresh

        bk, vol, fresh = await self.ctx.store.write(txn)
        if fresh and self.ctx.pool is not None:
            self.ctx.pool.bind(vol.id, vol.host)
        self.ctx.spawn(self._run_restore(bk, vol, fresh), f"restore backup {bk.id}")
        return bk, vol

    async def create_volume_from_backup(
        self, caller: Caller, backup_id: Any, *, name: Any = None, size: Any = None
    ) -> Volume:
        """POST /volumes with ``backup_id``: a new volume restored from the backup."""
        if not isinstance(backup_id, str):
            raise BadRequest("Invalid input received: backup_id must be a string.")
        if size is not None:
            bk = self.get_backup(caller, backup_id)
            wanted = validate.size_gb(size, maximum=self.ctx.settings.max_volume_gb)
            if wanted != bk.size:
                raise BadRequest(
                    "Invalid input received: a volume from a backup has the "
                    f"backup's size ({bk.size}G)."
                )
        return (await self.restore_backup(caller, backup_id, name=name))[1]

    async def _run_restore(self, bk: Backup, vol: Volume, fresh: bool) -> None:
        ok, reason = True, None
        try:
            client = await self._objects().client(bk.project, bk.user)
            man = await self.load_manifest(client, bk)
            if man is None:
                raise NotFound(f"the manifest of backup {bk.id} is missing")
            if fresh:
                await self.ctx.io(self.ctx.backend.create_volume, vol.id, vol.size * GiB, False)
            dest = await self.ctx.io(self.ctx.backend.volume_writer, vol.id)
            try:
                await engine.restore_file(
                    client,
                    bk.container,
                    man,
                    dest,
                    fresh=fresh,
                    volume_bytes=vol.size * GiB,
                    concurrency=self.ctx.settings.backup.concurrency,
                    progress=self._progress(bk),
                )
            finally:
                await self.ctx.io(dest.close)
        except Exception as exc:
            log.exception("restore of backup %s into %s failed", bk.id, vol.id)
            ok, reason = False, str(exc)

        def txn(t: Txn) -> None:
            cur = t.get(Backup, bk.project, bk.id)
            if cur is not None and cur.status == states.BK_RESTORING:
                cur.status, cur.restore_volume_id = states.BK_AVAILABLE, None
                cur.progress = 100.0 if ok else cur.progress
                t.put(cur)
            v = t.get(Volume, vol.project, vol.id)
            if v is not None and v.status == states.RESTORING:
                v.status = states.AVAILABLE if ok else states.ERROR_RESTORING
                v.fail_reason = reason
                t.put(v)

        await self.ctx.store.write(txn)

    # -- verify ----------------------------------------------------------------------

    async def verify_backup(self, caller: Caller, backup_id: str) -> None:
        must_write(caller)
        self._objects()

        def txn(t: Txn) -> Backup:
            bk = self.table.must_get(t, caller, backup_id)
            states.require("backup", bk.id, bk.status, frozenset({states.BK_AVAILABLE}))
            bk.status, bk.progress = states.BK_VERIFYING, 0.0
            t.put(bk)
            return bk

        bk = await self.ctx.store.write(txn)
        self.ctx.spawn(self._run_verify(bk), f"verify backup {bk.id}")

    async def _run_verify(self, bk: Backup) -> None:
        try:
            client = await self._objects().client(bk.project, bk.user)
            man = await self.load_manifest(client, bk)
            if man is None:
                result: dict[str, Any] = {
                    "ok": False,
                    "checked": 0,
                    "missing": ["manifest"],
                    "corrupt": [],
                }
            else:
                result = await engine.verify(
                    client,
                    bk.container,
                    man,
                    concurrency=self.ctx.settings.backup.concurrency,
                    progress=self._progress(bk),
                )
        except Exception as exc:
            log.exception("verify of backup %s failed", bk.id)
            result = {"ok": False, "checked": 0, "missing": [], "corrupt": [], "error": str(exc)}
        result["at"] = time.time()

        def txn(t: Txn) -> None:
            cur = t.get(Backup, bk.project, bk.id)
            if cur is not None and cur.status == states.BK_VERIFYING:
                cur.status, cur.verify_result, cur.progress = states.BK_AVAILABLE, result, 100.0
                t.put(cur)

        await self.ctx.store.write(txn)

    # -- read and admin ----------------------------------------------------------------

    def get_backup(self, caller: Caller, backup_id: str) -> Backup:
        return self.table.get(caller, backup_id)

    def backup_has_dependents(self, caller: Caller, bk: Backup) -> bool:
        return any(b.parent_id == bk.id for b in self.ctx.store.scan(Backup, caller.project))

    def list_backups(self, caller: Caller, **query: Any) -> tuple[list[Backup], bool]:
        """Filters, limit, marker, sort (see :meth:`Table.page`)."""
        return self.table.page(caller, **query)

    async def update_backup(
        self, caller: Caller, backup_id: str, changes: dict[str, Any]
    ) -> Backup:
        """Cinder 3.9 (name, description) and 3.43 (metadata): ``volume backup set``."""
        return await self.table.update(caller, backup_id, changes)

    async def reset_backup_status(self, caller: Caller, backup_id: str, status: Any) -> None:
        must_be_cloud_admin(caller)
        if status not in (states.BK_AVAILABLE, states.BK_ERROR):
            raise BadRequest("Invalid input received: status must be available or error.")

        def txn(t: Txn) -> None:
            bk = self.table.must_get(t, caller, backup_id)
            bk.status = status
            t.put(bk)

        await self.ctx.store.write(txn)

    # -- restart -----------------------------------------------------------------------

    def _forget_temp_snapshot(self, t: Txn, bk: Backup) -> None:
        """Delete what a backup stopped by a restart may have left (on the volume's
        backend, routed there first: the pool knows only the records' snapshots)."""
        snap_id = temp_snapshot_id(bk.id)
        if self.ctx.pool is not None:
            vol = t.get(Volume, bk.project, bk.volume_id)
            if vol is None or not vol.host:
                return
            self.ctx.pool.bind(snap_id, vol.host)
        with contextlib.suppress(OSError, BackendError):  # a backend down keeps it
            self.ctx.backend.delete_snapshot(snap_id)

    def reconcile(self, t: Txn, out: Reconciled) -> list[Coroutine[Any, Any, Any]]:
        later: list[Coroutine[Any, Any, Any]] = []
        """Settle what a stop left (the Reconciler's hook for backups)."""
        for bk in t.scan(Backup):
            if bk.status == states.BK_CREATING:
                bk.status, bk.fail_reason = states.BK_ERROR, RESTART
                self._forget_temp_snapshot(t, bk)
            elif bk.status in (states.BK_RESTORING, states.BK_VERIFYING):
                bk.status, bk.restore_volume_id = states.BK_AVAILABLE, None
            elif bk.status == states.BK_DELETING:
                out.resumed.append(bk.id)
                later.append(self.finish_backup_delete(bk))
                continue
            else:
                continue
            t.put(bk)
            out.changed[bk.id] = bk.status
        return later
