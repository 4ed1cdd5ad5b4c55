"""Volumes of servers: attach to a running VM, detach, boot volumes, and settling after a crash.

Attach asks the volume service for an attachment with this server's
initiator (it reserves the volume and exports it with per-attachment CHAP),
records the attachment as ``attaching``, hot-plugs it over QMP, and then
completes the attachment in the volume service. Any failure undoes the
steps done, in reverse, so server, volume and export agree again. Detach
records ``detaching``, unplugs (waiting for the guest), and then ends the
attachment in the volume service, which removes the export.

A crash between steps leaves a recorded ``attaching`` or ``detaching``;
:meth:`VolumeAttachments.settle` finishes or undoes it from what QEMU and
the volume service say.

:class:`VolumeAttachments` is a service the server manager composes: it
gets the server records, the per-server locks, the owner's volume client,
the running QEMU processes (their QMP) and the settings, and nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from blockstore.client import VolumeApiError, VolumeClient, VolumeStateError
from compute_glue.errors import ApiError, BadRequest, Conflict, NotFound, Unavailable
from compute_glue.servers import hotplug, swap
from compute_glue.servers.bodies import MAX_VOLUMES, VolumeAttach
from compute_glue.servers.guards import ServerLocks, require_writer
from compute_glue.servers.hotplug import ConnectionInfoError
from compute_glue.servers.model import Attachment, Server
from compute_glue.servers.owner import OwnerClients
from compute_glue.servers.process import Disk, VmProcess
from compute_glue.servers.qmp import QmpClient, QmpClosed, QmpError
from compute_glue.servers.settings import ComputeSettings
from compute_glue.servers.store import ServerStore
from stratus.identity import Principal

log = logging.getLogger("compute_glue.servers.attach")


def _device_name(server: Server) -> str:
    used = {a.device for a in server.volumes()}
    start = 1 if server.boot.get("disk") else 0  # the root disk is vda
    for letter in string.ascii_lowercase[start:]:
        if f"/dev/vd{letter}" not in used:
            return f"/dev/vd{letter}"
    raise Conflict("No device names left.", kind="conflictingRequest")


def _volume_error(exc: VolumeApiError) -> ApiError:
    if exc.status == 404:
        return NotFound(exc.message or "Volume could not be found.", kind="itemNotFound")
    if exc.status in (400, 409):
        return Conflict(exc.message, kind="conflictingRequest")
    return Unavailable(f"The volume service failed: {exc.message}", kind="computeFault")


def _put(att: Attachment) -> Callable[[Server], None]:
    """A record change: the server holds ``att`` (as it is now)."""
    return lambda s: s.put_volume(att)


def _drop(volume_id: str) -> Callable[[Server], None]:
    """A record change: the server no longer holds the volume."""
    return lambda s: s.drop_volume(volume_id)


class VolumeAttachments:
    """The volumes of this host's servers: attach, detach, boot volumes, settling."""

    def __init__(
        self,
        store: ServerStore,
        locks: ServerLocks,
        clients: OwnerClients,
        vms: Mapping[str, VmProcess],
        settings: ComputeSettings,
    ) -> None:
        self.store = store
        self.locks = locks
        self.clients = clients
        self.vms = vms  # the running QEMU processes, by server id (the manager's)
        self.settings = settings

    def _qmp(self, server_id: str) -> QmpClient | None:
        """The QMP of the server's QEMU while it runs."""
        vm = self.vms.get(server_id)
        return vm.qmp if vm is not None and vm.alive else None

    def _connector(self, server: Server) -> dict[str, Any]:
        return {
            "initiator": self.settings.initiator(server.id),
            "host": self.settings.host,
            "multipath": False,
            "platform": "x86_64",
            "os_type": "linux",
        }

    # -- attach ----------------------------------------------------------------------------

    async def attach(self, who: Principal, server_id: str, req: VolumeAttach) -> Attachment:
        """Attach a volume to a running server (hot-plug); undone entirely on failure."""
        volume_id = req.volume_id
        server = self.store.get(who, server_id)
        require_writer(who, "attach volumes to")
        self.locks.busy(server, "attach_volume")
        async with self.locks.lock(server_id):
            server = self.store.load(server_id)
            qmp = self._qmp(server_id)
            if server.status != "ACTIVE" or qmp is None:
                raise Conflict(
                    f"Cannot 'attach_volume' instance {server_id} while it is not running.",
                    kind="conflictingRequest",
                )
            if server.find_volume(volume_id) is not None:
                raise Conflict(
                    f"Volume {volume_id} is already attached to this instance.",
                    kind="conflictingRequest",
                )
            if len(server.attachments) >= MAX_VOLUMES:
                raise Conflict("The server has the most volumes it may have.", kind="forbidden")
            return await self._attach_running(server, qmp, volume_id, req.delete_on_termination)

    async def _attach_running(
        self, server: Server, qmp: QmpClient, volume_id: str, delete_on_termination: bool
    ) -> Attachment:
        vc = await self.clients.volumes(server)
        try:
            made = await vc.create_attachment(
                volume_id, instance_uuid=server.id, connector=self._connector(server), mode="rw"
            )
        except VolumeApiError as exc:
            raise _volume_error(exc) from None
        att = Attachment(
            volume_id,
            made["id"],
            device=_device_name(server),
            delete_on_termination=delete_on_termination,
        )
        self.store.edit(server.id, _put(att))  # durable before QEMU is touched
        try:
            await hotplug.plug(
                qmp,
                att,
                made["connection_info"],
                self.settings.initiator(server.id),
                self.settings.qmp_timeout,
            )
            try:
                await vc.complete_attachment(att.attachment_id)
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._unplug(qmp, att)
                raise
        except BaseException as exc:
            await self._forget(server, att, vc)
            log.warning(
                "server %s: attaching %s failed and was undone: %s", server.id, volume_id, exc
            )
            if isinstance(exc, VolumeApiError):
                raise _volume_error(exc) from None
            if isinstance(exc, QmpClosed):
                raise Conflict(
                    f"Instance {server.id} stopped running during the attach.",
                    kind="conflictingRequest",
                ) from None
            if isinstance(exc, QmpError | ConnectionInfoError | TimeoutError):
                raise Unavailable(
                    f"The hypervisor refused the volume: {exc}", kind="computeFault"
                ) from None
            raise
        att.state = "attached"
        self.store.edit(server.id, _put(att))
        log.info("server %s: volume %s attached as %s", server.id, volume_id, att.device)
        return att

    async def _unplug(self, qmp: QmpClient, att: Attachment) -> None:
        """Ask the guest to release the disk, and take it out of QEMU."""
        await hotplug.unplug(
            qmp, att, detach_timeout=self.settings.detach_timeout, timeout=self.settings.qmp_timeout
        )

    async def _forget(self, server: Server, att: Attachment, vc: VolumeClient) -> None:
        """Undo the volume service's half and the record (QEMU's half is undone already)."""
        try:
            await vc.delete_attachment(att.attachment_id)
        except VolumeApiError as exc:
            if exc.status != 404:
                log.warning(
                    "volume %s: attachment %s not ended: %s", att.volume_id, att.attachment_id, exc
                )
                return  # keep the record: settle() retries later
        self.store.edit(server.id, _drop(att.volume_id))

    # -- detach ----------------------------------------------------------------------------

    async def detach(self, who: Principal, server_id: str, volume_id: str) -> None:
        """Unplug the volume (waiting for the guest), then end the attachment."""
        server = self.store.get(who, server_id)
        require_writer(who, "detach volumes from")
        self.locks.busy(server, "detach_volume")
        async with self.locks.lock(server_id):
            server = self.store.load(server_id)
            att = server.find_volume(volume_id)
            if att is None or att.state == "attaching":
                raise NotFound(
                    f"Volume {volume_id[:64]} is not attached to instance {server_id}.",
                    kind="itemNotFound",
                )
            if att.boot_index == 0:
                raise BadRequest("Cannot detach the boot volume.", kind="badRequest")
            if att.state == "migrating":
                raise Conflict(
                    f"Volume {volume_id} is being migrated; detach it afterwards.",
                    kind="conflictingRequest",
                )
            att.state = "detaching"
            self.store.edit(server_id, _put(att))
            qmp = self._qmp(server_id)
            if qmp is not None:
                try:
                    await self._unplug(qmp, att)
                except (TimeoutError, QmpError) as exc:
                    att.state = "attached"
                    self.store.edit(server_id, _put(att))
                    raise Conflict(
                        f"The guest did not release volume {volume_id}: {exc}",
                        kind="conflictingRequest",
                    ) from None
                except QmpClosed:
                    pass  # QEMU ended meanwhile: nothing left to unplug
            await self._forget(server, att, await self.clients.volumes(server))
            if self.store.load(server_id).find_volume(volume_id) is not None:
                raise Unavailable(
                    "The volume service did not end the attachment; it will be retried.",
                    kind="computeFault",
                )
            log.info("server %s: volume %s detached", server_id, volume_id)

    async def force_detached(self, who: Principal, server_id: str, volume_id: str) -> bool:
        """The volume service ended this server's attachment (an admin's force-detach).

        The export is gone already: the disk leaves QEMU (the guest is asked to release it,
        and the node goes even if it does not) and the volume leaves the server's list.
        False if the server did not hold the volume.
        """
        self.store.get(who, server_id)
        async with self.locks.lock(server_id):
            att = self.store.load(server_id).find_volume(volume_id)
            if att is None:
                return False
            qmp = self._qmp(server_id)
            if qmp is not None:
                try:
                    await self._unplug(qmp, att)
                except (TimeoutError, QmpError) as exc:
                    log.warning(
                        "server %s: guest kept force-detached volume %s: %s",
                        server_id,
                        volume_id,
                        exc,
                    )
                    with contextlib.suppress(Exception):
                        await hotplug.drop_backend(qmp, att, self.settings.qmp_timeout)
                except QmpClosed:
                    pass  # QEMU ended meanwhile: nothing left to unplug
            self.store.edit(server_id, _drop(volume_id))
            log.warning("server %s: volume %s was force-detached", server_id, volume_id)
            return True

    async def detach_all(self, server: Server) -> None:
        """A deleted server's volumes: attachments end, delete_on_termination volumes go."""
        vc = await self.clients.volumes(server)
        for att in server.volumes():
            try:
                await vc.delete_attachment(att.attachment_id)
            except VolumeApiError as exc:
                if exc.status != 404:
                    raise
            self.store.edit(server.id, _drop(att.volume_id))
            if att.delete_on_termination:
                with contextlib.suppress(VolumeApiError, VolumeStateError, TimeoutError):
                    await vc.wait_volume(att.volume_id, "available", timeout=60)
                    await vc.delete_volume(att.volume_id)

    # -- at boot -------------------------------------------------------------------------------

    async def attach_boot_volumes(self, server: Server) -> None:
        """The block device mapping: make (from images) and attach volumes before QEMU starts."""
        vc = await self.clients.volumes(server)
        for bdm in server.block_devices:
            volume_id = bdm["uuid"]
            if bdm["source_type"] == "image":
                ref = f"{self.settings.image_container}/{bdm['uuid']}"
                vol = await vc.create_volume(
                    bdm["volume_size"], name=f"{server.name}-boot", imageRef=ref
                )
                volume_id = vol["id"]
                await vc.wait_volume(volume_id, "available", timeout=600)
            if self.store.load(server.id).find_volume(volume_id) is not None:
                continue
            made = await vc.create_attachment(
                volume_id, instance_uuid=server.id, connector=self._connector(server), mode="rw"
            )
            att = Attachment(
                volume_id,
                made["id"],
                state="attached",
                boot_index=bdm["boot_index"],
                delete_on_termination=bdm["delete_on_termination"],
                device=_device_name(self.store.load(server.id)),
            )
            self.store.edit(server.id, _put(att))
            await vc.complete_attachment(att.attachment_id)

    async def boot_disks(self, server: Server, idir: Path, secrets: list[Path]) -> list[Disk]:
        """The attached volumes as command-line disks (a server starting with them)."""
        vc = await self.clients.volumes(server)
        disks = []
        for att in server.volumes():
            if att.state != "attached":
                continue
            info = (await vc.get_attachment(att.attachment_id))["connection_info"]
            secret = idir / f"{att.secret_id}.secret"
            password = hotplug.chap_password(info)
            if password is not None:
                fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(password)
                secrets.append(secret)
            disks.append(hotplug.boot_disk(att, info, self.settings.initiator(server.id), secret))
        return disks

    # -- after a crash ---------------------------------------------------------------------------

    async def settle(self, server_id: str) -> None:
        """Finish or undo attachments a crash left ``attaching`` or ``detaching``."""
        async with self.locks.lock(server_id):
            server = self.store.load(server_id)
            vc = await self.clients.volumes(server)
            qmp = self._qmp(server_id)
            for att in server.volumes():
                if att.state == "migrating":  # a restart ends the migration: the old node
                    if qmp is not None:
                        with contextlib.suppress(Exception):
                            await swap.recover(qmp, att, self.settings.qmp_timeout)
                    att.state = "attached"
                    self.store.edit(server_id, _put(att))
                if att.state == "attached":
                    continue
                try:
                    in_vm = qmp is not None and await hotplug.has_device(
                        qmp, att, self.settings.qmp_timeout
                    )
                    if att.state == "attaching" and in_vm:
                        await vc.complete_attachment(att.attachment_id)
                        att.state = "attached"
                        self.store.edit(server_id, _put(att))
                        continue
                    if att.state == "detaching" and in_vm:
                        att.state = "attached"  # the detach never reached the guest: ask again
                        self.store.edit(server_id, _put(att))
                        continue
                    if qmp is not None:
                        await hotplug.drop_backend(qmp, att, self.settings.qmp_timeout)
                    await self._forget(server, att, vc)
                except Exception as exc:
                    log.warning(
                        "server %s: volume %s not settled yet: %s", server_id, att.volume_id, exc
                    )
            log.info("server %s: attachments settled", server_id)
