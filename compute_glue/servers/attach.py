"""Volumes of servers: attach to a running VM, detach, boot volumes, and settling after a crash.

Attach asks the volume service for an attachment with this server's
initiator (it reserves the volume and exports it with per-attachment CHAP),
records the attachment as ``attaching``, hot-plugs it over QMP, and then
completes the attachment in the volume service. Any failure undoes the
steps done, in reverse, so server, volume and export agree again. Detach
records ``detaching``, unplugs (waiting for the guest), and then ends the
attachment in the volume service, which removes the export.

A crash between steps leaves a recorded ``attaching`` or ``detaching``;
:meth:`AttachMixin.settle` finishes or undoes it from what QEMU and the
volume service say.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import string
from pathlib import Path
from typing import Any

from blockstore.client import VolumeApiError, VolumeStateError
from compute_glue.errors import ApiError, BadRequest, Conflict, NotFound, Unavailable
from compute_glue.servers import hotplug
from compute_glue.servers.hotplug import ConnectionInfoError
from compute_glue.servers.model import Attachment, Server
from compute_glue.servers.qmp import QmpClosed, QmpError

log = logging.getLogger("compute_glue.servers.attach")
MAX_VOLUMES = 16


def image_boot(image_id: str | None, value: Any) -> tuple[str | None, Any]:
    """Split off the mapping that says "boot the image on a local disk" (what imageRef means).

    The ``openstack`` CLI sends it with every ``--image`` boot; it names the
    same image as ``imageRef``, or stands in for it. The rest is returned as is.
    """
    if not isinstance(value, list):
        return image_id, value
    rest = []
    for bdm in value:
        if (
            isinstance(bdm, dict)
            and bdm.get("source_type") == "image"
            and bdm.get("destination_type") == "local"
        ):
            if _boot_index(bdm.get("boot_index")) != 0 or not isinstance(bdm.get("uuid"), str):
                raise BadRequest(
                    "An image on a local disk must be the boot device (boot_index 0).",
                    kind="badRequest",
                )
            if image_id is not None and bdm["uuid"] != image_id:
                raise BadRequest(
                    "The boot image mapping names another image than imageRef.", kind="badRequest"
                )
            image_id = bdm["uuid"]
        else:
            rest.append(bdm)
    return image_id, rest


TRUE_WORDS = ("true", "1", "on", "yes")
FALSE_WORDS = ("false", "0", "off", "no")


def _boolean(raw: Any, name: str) -> bool:
    """Nova's boolean parameter: a JSON boolean or one of its words ("false" is False)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in TRUE_WORDS + FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise BadRequest(f"Invalid input: {name} must be a boolean.", kind="badRequest")


def _boot_index(raw: Any) -> int | None:
    """Nova's boot_index: an integer or its digits; negative (or none) means "not bootable"."""
    if raw is None:
        return None
    if isinstance(raw, str) and re.fullmatch(r"-?\d{1,3}", raw):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise BadRequest("boot_index must be an integer.", kind="badRequest")
    return raw if raw >= 0 else None


def check_bdms(value: Any) -> list[dict[str, Any]]:
    """Nova's block_device_mapping_v2, reduced to what this compute does: volumes."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_VOLUMES:
        raise BadRequest("block_device_mapping_v2 must be a list of at most 16.", kind="badRequest")
    out = []
    for bdm in value:
        if not isinstance(bdm, dict):
            raise BadRequest("Each block device mapping must be an object.", kind="badRequest")
        source = bdm.get("source_type")
        if source not in ("volume", "image") or bdm.get("destination_type", "volume") != "volume":
            raise BadRequest(
                "Only volume destinations from a volume or an image are supported.",
                kind="badRequest",
            )
        if not isinstance(bdm.get("uuid"), str):
            raise BadRequest("Each block device mapping needs a uuid.", kind="badRequest")
        boot_index = _boot_index(bdm.get("boot_index"))
        size = bdm.get("volume_size")
        if source == "image" and (not isinstance(size, int) or size <= 0):
            raise BadRequest("A volume made from an image needs volume_size.", kind="badRequest")
        out.append(
            {
                "source_type": source,
                "uuid": bdm["uuid"],
                "boot_index": boot_index,
                "volume_size": size,
                "delete_on_termination": _boolean(
                    bdm.get("delete_on_termination", source == "image"), "delete_on_termination"
                ),
            }
        )
    return out


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


class AttachMixin:
    """The volume half of :class:`compute_glue.servers.manager.ServerManager`."""

    # Provided by ServerManager.
    settings: Any
    vms: dict[str, Any]
    clock: Any

    def get(self, who: Any, server_id: str) -> Server: ...  # type: ignore[empty-body]
    def load(self, server_id: str) -> Server: ...  # type: ignore[empty-body]
    def edit(self, server_id: str, change: Any) -> Server: ...  # type: ignore[empty-body]
    def lock(self, server_id: str) -> asyncio.Lock: ...  # type: ignore[empty-body]
    def busy(self, server: Server, action: str) -> None: ...
    def writer(self, who: Any, action: str) -> None: ...
    def initiator(self, server_id: str) -> str: ...  # type: ignore[empty-body]
    async def volume_client(self, server: Server) -> Any: ...

    def _connector(self, server: Server) -> dict[str, Any]:
        return {
            "initiator": self.initiator(server.id),
            "host": self.settings.host,
            "multipath": False,
            "platform": "x86_64",
            "os_type": "linux",
        }

    # -- attach ----------------------------------------------------------------------------

    async def attach_volume(
        self, who: Any, server_id: str, volume_id: Any, delete_on_termination: Any = False
    ) -> Attachment:
        """Attach a volume to a running server (hot-plug); undone entirely on failure."""
        if not isinstance(volume_id, str) or not 0 < len(volume_id) <= 64:
            raise BadRequest("Invalid input: volumeId must be a volume id.", kind="badRequest")
        delete_on_termination = _boolean(delete_on_termination, "delete_on_termination")
        server = self.get(who, server_id)
        self.writer(who, "attach volumes to")
        self.busy(server, "attach_volume")
        async with self.lock(server_id):
            server = self.load(server_id)
            vm = self.vms.get(server_id)
            if server.status != "ACTIVE" or vm is None or not vm.alive or vm.qmp is None:
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
            return await self._attach_running(server, vm, volume_id, delete_on_termination)

    async def _attach_running(
        self, server: Server, vm: Any, volume_id: str, delete_on_termination: bool = False
    ) -> Attachment:
        vc = await self.volume_client(server)
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
        self.edit(server.id, lambda s: s.put_volume(att))  # durable before QEMU is touched
        try:
            await hotplug.plug(
                vm.qmp,
                att,
                made["connection_info"],
                self.initiator(server.id),
                self.settings.qmp_timeout,
            )
            try:
                await vc.complete_attachment(att.attachment_id)
            except BaseException:
                with contextlib.suppress(Exception):
                    await hotplug.unplug(
                        vm.qmp,
                        att,
                        detach_timeout=self.settings.detach_timeout,
                        timeout=self.settings.qmp_timeout,
                    )
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
        self.edit(server.id, lambda s: s.put_volume(att))
        log.info("server %s: volume %s attached as %s", server.id, volume_id, att.device)
        return att

    async def _forget(self, server: Server, att: Attachment, vc: Any) -> None:
        """Undo the volume service's half and the record (QEMU's half is undone already)."""
        try:
            await vc.delete_attachment(att.attachment_id)
        except VolumeApiError as exc:
            if exc.status != 404:
                log.warning(
                    "volume %s: attachment %s not ended: %s", att.volume_id, att.attachment_id, exc
                )
                return  # keep the record: settle() retries later
        self.edit(server.id, lambda s: s.drop_volume(att.volume_id))

    # -- detach ----------------------------------------------------------------------------

    async def detach_volume(self, who: Any, server_id: str, volume_id: str) -> None:
        """Unplug the volume (waiting for the guest), then end the attachment."""
        server = self.get(who, server_id)
        self.writer(who, "detach volumes from")
        self.busy(server, "detach_volume")
        async with self.lock(server_id):
            server = self.load(server_id)
            att = server.find_volume(volume_id)
            if att is None or att.state == "attaching":
                raise NotFound(
                    f"Volume {volume_id[:64]} is not attached to instance {server_id}.",
                    kind="itemNotFound",
                )
            if att.boot_index == 0:
                raise BadRequest("Cannot detach the boot volume.", kind="badRequest")
            att.state = "detaching"
            self.edit(server_id, lambda s: s.put_volume(att))
            vm = self.vms.get(server_id)
            if vm is not None and vm.alive and vm.qmp is not None:
                try:
                    await hotplug.unplug(
                        vm.qmp,
                        att,
                        detach_timeout=self.settings.detach_timeout,
                        timeout=self.settings.qmp_timeout,
                    )
                except (TimeoutError, QmpError) as exc:
                    att.state = "attached"
                    self.edit(server_id, lambda s: s.put_volume(att))
                    raise Conflict(
                        f"The guest did not release volume {volume_id}: {exc}",
                        kind="conflictingRequest",
                    ) from None
                except QmpClosed:
                    pass  # QEMU ended meanwhile: nothing left to unplug
            await self._forget(server, att, await self.volume_client(server))
            if self.load(server_id).find_volume(volume_id) is not None:
                raise Unavailable(
                    "The volume service did not end the attachment; it will be retried.",
                    kind="computeFault",
                )
            log.info("server %s: volume %s detached", server_id, volume_id)

    async def volume_detached(self, who: Any, server_id: str, volume_id: str) -> bool:
        """The volume service ended this server's attachment (an admin's force-detach).

        The export is gone already: the disk leaves QEMU (the guest is asked to release it,
        and the node goes even if it does not) and the volume leaves the server's list.
        False if the server did not hold the volume.
        """
        self.get(who, server_id)
        async with self.lock(server_id):
            att = self.load(server_id).find_volume(volume_id)
            if att is None:
                return False
            vm = self.vms.get(server_id)
            if vm is not None and vm.alive and vm.qmp is not None:
                try:
                    await hotplug.unplug(
                        vm.qmp,
                        att,
                        detach_timeout=self.settings.detach_timeout,
                        timeout=self.settings.qmp_timeout,
                    )
                except (TimeoutError, QmpError) as exc:
                    log.warning(
                        "server %s: guest kept force-detached volume %s: %s",
                        server_id,
                        volume_id,
                        exc,
                    )
                    with contextlib.suppress(Exception):
                        await hotplug.drop_backend(vm.qmp, att, self.settings.qmp_timeout)
                except QmpClosed:
                    pass  # QEMU ended meanwhile: nothing left to unplug
            self.edit(server_id, lambda s: s.drop_volume(volume_id))
            log.warning("server %s: volume %s was force-detached", server_id, volume_id)
            return True

    async def detach_all(self, server: Server) -> None:
        """A deleted server's volumes: attachments end, delete_on_termination volumes go."""
        vc = await self.volume_client(server)
        for att in server.volumes():
            try:
                await vc.delete_attachment(att.attachment_id)
            except VolumeApiError as exc:
                if exc.status != 404:
                    raise
            self.edit(server.id, lambda s, a=att: s.drop_volume(a.volume_id))
            if att.delete_on_termination:
                with contextlib.suppress(VolumeApiError, VolumeStateError, TimeoutError):
                    await vc.wait_volume(att.volume_id, "available", timeout=60)
                    await vc.delete_volume(att.volume_id)

    # -- at boot -------------------------------------------------------------------------------

    async def attach_boot_volumes(self, server: Server) -> None:
        """The block device mapping: make (from images) and attach volumes before QEMU starts."""
        vc = await self.volume_client(server)
        for bdm in server.block_devices:
            volume_id = bdm["uuid"]
            if bdm["source_type"] == "image":
                ref = f"{self.settings.image_container}/{bdm['uuid']}"
                vol = await vc.create_volume(
                    bdm["volume_size"], name=f"{server.name}-boot", imageRef=ref
                )
                volume_id = vol["id"]
                await vc.wait_volume(volume_id, "available", timeout=600)
            if self.load(server.id).find_volume(volume_id) is not None:
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
                device=_device_name(self.load(server.id)),
            )
            self.edit(server.id, lambda s, a=att: s.put_volume(a))
            await vc.complete_attachment(att.attachment_id)

    async def volume_disks(self, server: Server, idir: Path, secrets: list[Path]) -> list[Any]:
        """The attached volumes as command-line disks (a server starting with them)."""
        vc = await self.volume_client(server)
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
            disks.append(hotplug.boot_disk(att, info, self.initiator(server.id), secret))
        return disks

    # -- after a crash ---------------------------------------------------------------------------

    async def settle(self, server_id: str) -> None:
        """Finish or undo attachments a crash left ``attaching`` or ``detaching``."""
        async with self.lock(server_id):
            server = self.load(server_id)
            vc = await self.volume_client(server)
            vm = self.vms.get(server_id)
            qmp = vm.qmp if vm is not None and vm.alive else None
            for att in server.volumes():
                if att.state == "attached":
                    continue
                try:
                    in_vm = qmp is not None and await hotplug.has_device(
                        qmp, att, self.settings.qmp_timeout
                    )
                    if att.state == "attaching" and in_vm:
                        await vc.complete_attachment(att.attachment_id)
                        att.state = "attached"
                        self.edit(server_id, lambda s, a=att: s.put_volume(a))
                        continue
                    if att.state == "detaching" and in_vm:
                        att.state = "attached"  # the detach never reached the guest: ask again
                        self.edit(server_id, lambda s, a=att: s.put_volume(a))
                        continue
                    if qmp is not None:
                        await hotplug.drop_backend(qmp, att, self.settings.qmp_timeout)
                    await self._forget(server, att, vc)
                except Exception as exc:
                    log.warning(
                        "server %s: volume %s not settled yet: %s", server_id, att.volume_id, exc
                    )
            log.info("server %s: attachments settled", server_id)
