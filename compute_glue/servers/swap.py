"""A server's volume moving to another backend while the guest runs (Nova's swap_volume).

Nova's libvirt driver copies an attached volume with a block job while the guest keeps
writing, then pivots the guest's disk to the copy; Cinder drives it during the migration
of an in-use volume. Here the volume service drives three steps, each an internal,
admin-only call (``PUT /servers/{id}/os-volume_attachments/{volume}`` with
``stratus:migration``):

- ``mirror``: QMP ``blockdev-add`` of the new backend's iSCSI node, ``blockdev-mirror``
  (sync full) from the guest's node to it, wait for ``BLOCK_JOB_READY``, then ``stop``
  the VM (its I/O drains) and wait until the job has nothing left to copy. Both copies
  now hold the same bytes and nothing writes; the volume service hashes both.
- ``complete``: ``job-complete`` (the pivot), check the guest's device now reads the new
  node, ``blockdev-del`` the old one (QEMU logs out of the old target), ``cont``.
- ``abort``: cancel the job, drop the new node, ``cont``: the guest stays on its
  original volume, untouched.

A paused guest is never left behind: if neither ``complete`` nor ``abort`` arrives within
``hold`` seconds of ``mirror``, the job is aborted and the VM resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from compute_glue.errors import BadRequest, Conflict, NotFound, NotImplementedOp, Unavailable
from compute_glue.servers import hotplug
from compute_glue.servers.guards import ServerLocks
from compute_glue.servers.hotplug import ConnectionInfoError
from compute_glue.servers.model import Attachment, Server
from compute_glue.servers.process import VmProcess
from compute_glue.servers.qmp import QmpClient, QmpClosed, QmpError
from compute_glue.servers.settings import ComputeSettings
from compute_glue.servers.store import ServerStore

log = logging.getLogger("compute_glue.servers.swap")
Step = Literal["mirror", "complete", "abort"]
STEPS: tuple[Step, ...] = ("mirror", "complete", "abort")
MIRROR_TIMEOUT = 3600.0  # a whole volume copied to the new backend
POLL = 0.1


@dataclass
class Pending:
    """A mirror that is synchronised, with the VM paused, waiting for complete or abort."""

    old: Attachment
    new: Attachment
    job: str
    watchdog: asyncio.Task[None] | None = None


class VolumeSwaps:
    """The block jobs of this host's servers' volume migrations."""

    def __init__(
        self,
        store: ServerStore,
        locks: ServerLocks,
        vms: Mapping[str, VmProcess],
        settings: ComputeSettings,
        *,
        hold: float = 120.0,
    ) -> None:
        self.store, self.locks, self.vms, self.settings = store, locks, vms, settings
        self.hold = hold
        self.pending: dict[tuple[str, str], Pending] = {}

    def _qmp(self, server_id: str) -> QmpClient:
        vm = self.vms.get(server_id)
        if vm is None or not vm.alive or vm.qmp is None:
            raise Conflict(
                f"Cannot 'swap_volume' instance {server_id} while it is not running.",
                kind="conflictingRequest",
            )
        return vm.qmp

    async def step(
        self, server_id: str, volume_id: str, step: Step, info: dict[str, Any] | None
    ) -> None:
        """Run one step for the server's volume (the caller checked the admin role)."""
        async with self.locks.lock(server_id):
            server = self.store.load(server_id)
            att = server.find_volume(volume_id)
            if att is None:
                raise NotFound(
                    f"Volume {volume_id[:64]} is not attached to instance {server_id}.",
                    kind="itemNotFound",
                )
            key = (server_id, volume_id)
            if step == "mirror":
                if key in self.pending or att.state != "attached":
                    raise Conflict(
                        f"Volume {volume_id} of instance {server_id} is {att.state}.",
                        kind="conflictingRequest",
                    )
                await self._mirror(server, att, info or {})
                return
            pending = self.pending.pop(key, None)
            if pending is None:
                raise Conflict(
                    f"No migration of volume {volume_id} is waiting on instance {server_id}.",
                    kind="conflictingRequest",
                )
            if pending.watchdog is not None:
                pending.watchdog.cancel()
            if step == "complete":
                await self._complete(server, pending)
            else:
                await self._abort(server.id, pending, "the volume service asked")

    async def _mirror(self, server: Server, att: Attachment, info: dict[str, Any]) -> None:
        qmp, timeout = self._qmp(server.id), self.settings.qmp_timeout
        new = replace(att, generation=att.generation + 1, state="attached")
        job = f"mig-{att.key}-{new.generation}"
        try:
            await hotplug.add_node(qmp, new, info, self.settings.initiator(server.id), timeout)
        except (QmpError, ConnectionInfoError) as exc:
            raise Unavailable(
                f"The hypervisor refused the new volume: {exc}", kind="computeFault"
            ) from None
        att.state = "migrating"
        self.store.edit(server.id, lambda s: s.put_volume(att))
        pending = Pending(att, new, job)
        try:
            qmp.discard_events("BLOCK_JOB_READY", {"device": job})
            await qmp.execute(
                "blockdev-mirror",
                {"job-id": job, "device": att.node, "target": new.node, "sync": "full"},
                timeout=timeout,
            )
            await _wait_ready(qmp, job)
            await qmp.execute("stop", timeout=timeout)  # the guest's I/O drains
            await _wait_synced(qmp, job)
        except BaseException as exc:
            await self._abort(server.id, pending, f"the mirror failed: {exc}")
            if isinstance(exc, QmpError | TimeoutError | QmpClosed):
                raise Unavailable(f"The block mirror failed: {exc}", kind="computeFault") from None
            raise
        pending.watchdog = asyncio.get_running_loop().create_task(self._watch(server.id, pending))
        self.pending[(server.id, att.volume_id)] = pending
        log.info("server %s: volume %s mirrored to its new node", server.id, att.volume_id)

    async def _complete(self, server: Server, p: Pending) -> None:
        qmp, timeout = self._qmp(server.id), self.settings.qmp_timeout
        try:
            qmp.discard_events("BLOCK_JOB_COMPLETED", {"device": p.job})
            await qmp.execute("job-complete", {"id": p.job}, timeout=timeout)
            done = await qmp.wait_event(
                "BLOCK_JOB_COMPLETED", data={"device": p.job}, timeout=timeout
            )
            if "error" in done.get("data", {}):
                raise QmpError("job-complete", {"desc": str(done["data"]["error"])})
            on = await _device_node(qmp, p.old)
            if on != p.new.node:
                raise QmpError("job-complete", {"desc": f"the device still reads {on}"})
        except BaseException as exc:
            await self._abort(server.id, p, f"the pivot failed: {exc}")
            if isinstance(exc, QmpError | TimeoutError | QmpClosed):
                raise Unavailable(f"The pivot failed: {exc}", kind="computeFault") from None
            raise
        with contextlib.suppress(QmpError):  # QEMU logs out of the old target here
            await hotplug.drop_backend(qmp, p.old, timeout)
        await _resume(qmp, timeout)
        self.store.edit(server.id, lambda s: s.put_volume(p.new))
        log.info("server %s: volume %s pivoted to %s", server.id, p.old.volume_id, p.new.node)

    async def _abort(self, server_id: str, p: Pending, why: str) -> None:
        """Back to the original node: cancel the job, drop the new node, resume the VM."""
        log.warning("server %s: migration of volume %s undone: %s", server_id, p.old.volume_id,
                    why)  # fmt: skip
        vm = self.vms.get(server_id)
        qmp = vm.qmp if vm is not None and vm.alive else None
        if qmp is not None and not qmp.closed:
            timeout = self.settings.qmp_timeout
            with contextlib.suppress(Exception):
                await qmp.execute("block-job-cancel", {"device": p.job, "force": True},
                                  timeout=timeout)  # fmt: skip
                await _wait_gone(qmp, p.job, timeout)
            with contextlib.suppress(Exception):
                await hotplug.drop_backend(qmp, p.new, timeout)
            with contextlib.suppress(Exception):
                await _resume(qmp, timeout)
        p.old.state = "attached"
        self.store.edit(server_id, lambda s: s.put_volume(p.old))

    async def _watch(self, server_id: str, p: Pending) -> None:
        await asyncio.sleep(self.hold)
        async with self.locks.lock(server_id):
            if self.pending.get((server_id, p.old.volume_id)) is p:
                del self.pending[(server_id, p.old.volume_id)]
                await self._abort(server_id, p, f"no word within {self.hold:.0f} s")


async def _job(qmp: QmpClient, job: str) -> dict[str, Any] | None:
    jobs = await qmp.execute("query-block-jobs")
    return next((j for j in jobs if j.get("device") == job), None)


async def _wait_ready(qmp: QmpClient, job: str) -> None:
    """BLOCK_JOB_READY: the whole volume is copied and new writes are mirrored."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MIRROR_TIMEOUT
    while True:
        with contextlib.suppress(TimeoutError):
            await qmp.wait_event("BLOCK_JOB_READY", data={"device": job}, timeout=1.0)
            return
        if await _job(qmp, job) is None:
            raise QmpError("blockdev-mirror", {"desc": "the mirror job ended before it was ready"})
        if loop.time() > deadline:
            raise TimeoutError(f"the mirror was not ready within {MIRROR_TIMEOUT:.0f} s")


async def _wait_synced(qmp: QmpClient, job: str, timeout: float = 120.0) -> None:
    """Nothing left to copy (the VM is stopped, so nothing new arrives)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        j = await _job(qmp, job)
        if j is None:
            raise QmpError("blockdev-mirror", {"desc": "the mirror job ended"})
        if j.get("ready") and j.get("offset") == j.get("len"):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"the mirror did not settle within {timeout:.0f} s")
        await asyncio.sleep(POLL)


async def _wait_gone(qmp: QmpClient, job: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await _job(qmp, job) is not None and loop.time() < deadline:
        await asyncio.sleep(POLL)


async def _device_node(qmp: QmpClient, att: Attachment) -> str | None:
    """The block node the guest's device reads now."""
    for dev in await qmp.execute("query-block"):
        if att.device_id in str(dev.get("qdev", "")):
            return (dev.get("inserted") or {}).get("node-name")
    return None


async def _resume(qmp: QmpClient, timeout: float) -> None:
    status = await qmp.execute("query-status", timeout=timeout)
    if status.get("status") == "paused":
        await qmp.execute("cont", timeout=timeout)


def parse_swap(spec: dict[str, Any], volume_id: str) -> tuple[Step, dict[str, Any] | None]:
    """``volumeAttachment`` of the swap call: the same volume, and the migration's step."""
    if spec.get("volumeId") != volume_id:
        raise NotImplementedOp(
            "Swapping a server's volume for another volume is not implemented by this "
            "compute; the volume service migrates volumes in place.",
            kind="notImplemented",
        )
    mig = spec.get("stratus:migration")
    if not isinstance(mig, dict):
        raise BadRequest("volumeAttachment needs stratus:migration.", kind="badRequest")
    step = mig.get("step")
    if step not in STEPS:
        raise BadRequest(f"stratus:migration step must be one of {', '.join(STEPS)}.",
                         kind="badRequest")  # fmt: skip
    info = mig.get("connection_info")
    if step == "mirror" and not isinstance(info, dict):
        raise BadRequest("The mirror step needs connection_info.", kind="badRequest")
    return step, info if isinstance(info, dict) else None


async def recover(qmp: QmpClient, att: Attachment, timeout: float) -> None:
    """After a restart of this service: a migration it was running is undone (the job
    cancelled, the new node dropped) and the VM resumes, on the original node."""
    new = replace(att, generation=att.generation + 1)
    job = f"mig-{att.key}-{new.generation}"
    with contextlib.suppress(QmpError):
        await qmp.execute("block-job-cancel", {"device": job, "force": True}, timeout=timeout)
        await _wait_gone(qmp, job, timeout)
    with contextlib.suppress(QmpError):
        await hotplug.drop_backend(qmp, new, timeout)
    await _resume(qmp, timeout)
