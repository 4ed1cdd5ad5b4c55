"""Attachments: reserve, connect (initialize connection), complete, detach.

An attachment goes reserved -> attaching (connector given: the initiator's
IQN is added to the volume's target ACL with CHAP credentials made for this
attachment alone) -> attached (the volume is in-use) -> detaching (the ACL
entry is removed and the initiator's sessions end) -> gone. The target is
always rebuilt from the records (``Exports.sync_export``), so exports converge and
a restart re-creates them with ``ensure_export``. Cinder's older volume
actions (os-reserve, os-initialize_connection, os-attach, os-terminate_connection,
os-detach...) map onto the same steps.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, Literal

from blockstore.export.base import ExportSpec, valid_iscsi_name, without_secrets
from blockstore.manager import states, validate
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, must_be_cloud_admin, must_write
from blockstore.manager.errors import BackendError, BadRequest, Conflict, Forbidden
from blockstore.manager.exports import EXPORTED, Exports
from blockstore.manager.records import Attachment, Volume, now
from blockstore.manager.store import Txn
from blockstore.manager.table import Table, attachments_of, must_get

log = logging.getLogger("blockstore.manager")
DETACHABLE = frozenset({states.ATTACHING, states.IN_USE, states.DETACHING, states.AVAILABLE})
CONNECTOR_KEYS = 32


def check_connector(connector: Any) -> dict[str, Any]:
    """An os-brick connector; only ``initiator`` matters here, the rest is kept as given."""
    if not isinstance(connector, dict):
        raise BadRequest("Invalid input received: connector must be an object.")
    initiator = connector.get("initiator")
    if not isinstance(initiator, str) or not valid_iscsi_name(initiator):
        raise BadRequest(
            "Invalid input received: connector needs an 'initiator' iSCSI name "
            "(iqn.yyyy-mm.reversed.domain[:name] or eui.<16 hex>)."
        )
    if len(connector) > CONNECTOR_KEYS:
        raise BadRequest("Invalid input received: connector has too many keys.")
    out: dict[str, Any] = {}
    for key, value in connector.items():
        if isinstance(value, str | int | float | bool) or value is None:
            out[str(key)[:64]] = value if not isinstance(value, str) else value[:255]
    return out


def must_not_be_servers(caller: Caller, att: Attachment) -> None:
    """Refuse ending a server's attachment outside the compute service (Cinder: 409)."""
    if att.service_owned and not caller.service:
        raise Conflict(
            f"Detach volume {att.volume_id} from instance {att.instance_uuid} using the "
            f"Compute API (stratus server remove-volume {att.instance_uuid} "
            f"{att.volume_id}); an admin may force-detach it."
        )


class Attachments:
    """Who may reach a volume over iSCSI; ``exports`` makes the target follow."""

    def __init__(self, ctx: Context, exports: Exports) -> None:
        self.ctx = ctx
        self.exports = exports
        self.table = Table(ctx, Attachment, "Attachment")

    # -- the attachment API (Cinder 3.27+) -------------------------------------------

    async def reserve(
        self,
        caller: Caller,
        volume_id: str,
        *,
        instance_uuid: str | None = None,
        mode: Literal["rw", "ro"] | None = None,
        connector: dict[str, Any] | None = None,
    ) -> tuple[Attachment, dict[str, Any] | None]:
        """A new attachment (reserved); with a connector it is connected at once. Values as
        ``blockstore.api.requests.AttachmentCreate`` parses them (checked again here)."""
        must_write(caller)
        if not isinstance(volume_id, str):
            raise BadRequest("Invalid input received: an attachment needs a volume_uuid.")
        if instance_uuid is not None:
            instance_uuid = validate.text(instance_uuid, "instance_uuid")
        mode = validate.attach_mode(mode)
        if connector is not None:
            connector = check_connector(connector)

        def txn(t: Txn) -> Attachment:
            vol = must_get(t, Volume, caller, volume_id, "Volume")
            others = attachments_of(t, vol)
            if others and not vol.multiattach:
                raise BadRequest(
                    f"Invalid volume {vol.id}: it is already attached or reserved "
                    "and is not multiattach."
                )
            allowed = states.CAN_ATTACH_MULTI if vol.multiattach else states.CAN_ATTACH
            states.require("volume", vol.id, vol.status, allowed)
            if vol.readonly and mode == "rw":
                raise BadRequest(f"Invalid attaching mode rw for read-only volume {vol.id}.")
            att = Attachment(
                project=vol.project,
                volume_id=vol.id,
                instance_uuid=instance_uuid,
                attach_mode=mode or ("ro" if vol.readonly else "rw"),
                service_owned=caller.service and instance_uuid is not None,
            )
            t.put(att)
            if vol.status == states.AVAILABLE:
                vol.status = states.ATTACHING
                t.put(vol)
            return att

        att = await self.ctx.store.write(txn)
        if connector is None:
            return att, None
        return await self.update_attachment(caller, att.id, connector)

    async def update_attachment(
        self, caller: Caller, attachment_id: str, connector: dict[str, Any]
    ) -> tuple[Attachment, dict[str, Any]]:
        """Give the attachment its initiator: export to it and return connection info."""
        must_write(caller)
        connector = check_connector(connector)

        def txn(t: Txn) -> tuple[Attachment, Volume]:
            att = must_get(t, Attachment, caller, attachment_id, "Attachment")
            vol = must_get(t, Volume, caller, att.volume_id, "Volume")
            if att.status == states.ATT_DETACHING:
                raise BadRequest(f"Invalid attachment {att.id}: it is detaching.")
            if vol.status in (states.EXTENDING, states.DELETING):
                raise BadRequest(f"Invalid volume {vol.id}: it is {vol.status}.")
            for other in attachments_of(t, vol):
                if other.id != att.id and other.initiator == connector["initiator"]:
                    raise BadRequest(
                        f"Invalid attachment: initiator {connector['initiator']} already has "
                        f"attachment {other.id} to volume {vol.id}."
                    )
            att.connector = connector
            if att.chap_user is None:
                att.chap_user = f"att-{att.id}"
                att.chap_secret = secrets.token_urlsafe(24)
            if att.status == states.ATT_RESERVED:
                att.status = states.ATT_ATTACHING
            t.put(att)
            return att, vol

        att, vol = await self.ctx.store.write(txn)
        async with self.ctx.lock(vol.id):
            try:
                spec, portals = await self.exports.sync_export(vol)
            except Exception as exc:
                log.exception("export of volume %s failed", vol.id)
                raise BackendError(f"exporting volume {vol.id} failed: {exc}") from None
        if spec is None or portals is None:
            raise BackendError(f"volume {vol.id} is not exported (it changed meanwhile)")
        return att, self.exports.connection_for(spec, portals, att)

    async def complete_attachment(
        self,
        caller: Caller,
        attachment_id: str,
        *,
        mountpoint: Any = None,
        instance_uuid: Any = None,
        host_name: Any = None,
    ) -> Attachment:
        """The initiator is connected: the attachment is attached, the volume in-use."""
        must_write(caller)

        def txn(t: Txn) -> Attachment:
            att = must_get(t, Attachment, caller, attachment_id, "Attachment")
            if att.status not in (states.ATT_ATTACHING, states.ATT_ATTACHED):
                raise BadRequest(
                    f"Invalid attachment {att.id}: it has no connection yet (status {att.status})."
                )
            vol = must_get(t, Volume, caller, att.volume_id, "Volume")
            att.status = states.ATT_ATTACHED
            att.attached_at = att.attached_at or now()
            if mountpoint is not None:
                att.mountpoint = validate.text(mountpoint, "mountpoint")
            if instance_uuid is not None:
                att.instance_uuid = validate.text(instance_uuid, "instance_uuid")
            if host_name is not None:
                att.host_name = validate.text(host_name, "host_name")
            t.put(att)
            self._settle(t, vol)
            return att

        return await self.ctx.store.write(txn)

    def _settle(self, t: Txn, vol: Volume) -> None:
        """The volume's status from its attachments, unless another operation owns it."""
        cur = t.get(Volume, vol.project, vol.id)
        if cur is None or cur.status not in DETACHABLE:
            return
        cur.status = states.settled_volume_status([a.status for a in attachments_of(t, cur)])
        cur.previous_status = None
        t.put(cur)

    async def delete_attachment(
        self, caller: Caller, attachment_id: str, *, force: bool = False
    ) -> list[Attachment]:
        """Detach: the initiator loses access, the record goes; returns the volume's others.

        An attachment the compute service made for a server ends only through it (or by
        ``force``, an admin's os-force_detach): ending it here alone would pull the disk
        from under a running guest while the server still lists the volume.
        """
        must_write(caller)

        def begin(t: Txn) -> tuple[Attachment, Volume]:
            att = must_get(t, Attachment, caller, attachment_id, "Attachment")
            vol = must_get(t, Volume, caller, att.volume_id, "Volume")
            if not force:
                must_not_be_servers(caller, att)
            if vol.status in (states.EXTENDING, states.DELETING):
                raise BadRequest(f"Invalid volume {vol.id}: it is {vol.status}.")
            att.status = states.ATT_DETACHING
            t.put(att)
            if vol.status in (states.IN_USE, states.ATTACHING):
                vol.previous_status, vol.status = vol.status, states.DETACHING
                t.put(vol)
            return att, vol

        att, vol = await self.ctx.store.write(begin)
        await self._unexport(vol)

        def finish(t: Txn) -> list[Attachment]:
            cur = t.get(Attachment, att.project, att.id)
            if cur is not None:
                t.delete(cur)
            self._settle(t, vol)
            return attachments_of(t, vol)

        left = await self.ctx.store.write(finish)
        log.info("attachment %s of volume %s deleted", att.id, vol.id)
        return left

    async def force_detach(
        self, caller: Caller, volume_id: str, attachment_id: Any = None
    ) -> Attachment:
        """os-force_detach (admin): end the attachment whoever made it; returns what it was."""
        if "admin" not in caller.roles:
            raise Forbidden(
                "Policy doesn't allow volume_extension:volume_admin_actions:force_detach."
            )
        _vol, atts = self._volume_attachments(caller, volume_id)
        if attachment_id is None:
            if len(atts) != 1:
                raise BadRequest(
                    f"Invalid volume {volume_id}: give attachment_id ({len(atts)} attachments)."
                )
            attachment_id = atts[0].id
        att = next((a for a in atts if a.id == attachment_id), None)
        if att is None:
            raise BadRequest(
                f"Invalid attachment {str(attachment_id)[:80]} for volume {volume_id}."
            )
        await self.delete_attachment(caller, att.id, force=True)
        log.warning(
            "attachment %s of volume %s (instance %s) force-detached by %s:%s",
            att.id, volume_id, att.instance_uuid, caller.project, caller.user,
        )  # fmt: skip
        return att

    async def _unexport(self, vol: Volume) -> None:
        async with self.ctx.lock(vol.id):
            try:
                await self.exports.sync_export(vol)
            except Exception as exc:
                log.exception("unexport of volume %s failed", vol.id)
                raise BackendError(
                    f"removing the export of volume {vol.id} failed: {exc}"
                ) from None

    def get_attachment(self, caller: Caller, attachment_id: str) -> Attachment:
        return self.table.get(caller, attachment_id)

    def list_attachments(
        self,
        caller: Caller,
        *,
        filters: dict[str, Any] | None = None,
        limit: Any = None,
        marker: str | None = None,
        sort: str | None = None,
    ) -> tuple[list[Attachment], bool]:
        """The caller's project only (no all_tenants for attachments)."""
        return self.table.page(caller, filters=filters, limit=limit, marker=marker, sort=sort)

    def connection_view(self, caller: Caller, attachment_id: str) -> dict[str, Any] | None:
        """The connection info of a connected attachment, from the records (no target change)."""

        def txn(t: Txn) -> tuple[Attachment, ExportSpec | None]:
            att = must_get(t, Attachment, caller, attachment_id, "Attachment")
            vol = must_get(t, Volume, caller, att.volume_id, "Volume")
            return att, self.exports.export_spec(t, vol)

        att, spec = self.ctx.store.read(txn)
        portals = self.exports.portals(att.volume_id)
        if spec is None or portals is None or att.status not in EXPORTED:
            return None
        info = self.exports.connection_for(spec, portals, att)
        return info if caller.can_write else without_secrets(info)  # a reader may not connect

    async def iscsi_sessions(self, caller: Caller) -> list[dict[str, Any]]:
        """The live iSCSI sessions on volume targets (cloud admin only): a Stratus
        extension for the console's cluster page; a driver without ``sessions`` lists none."""
        must_be_cloud_admin(caller)
        found = await self.exports.sessions()
        prefix = f"{self.ctx.settings.iqn_prefix}:volume-"
        out = []
        for s in found:
            if not s.target_iqn.startswith(prefix):
                continue
            out.append(
                {
                    "volume_id": s.target_iqn[len(prefix) :],
                    "target_iqn": s.target_iqn,
                    "initiator": s.initiator,
                    "portal": s.portal,
                    "peer": s.peer,
                    "isid": s.isid,
                    "tsih": s.tsih,
                    "session_id": f"{s.isid}:{s.tsih:04x}",
                    "connected_at": s.connected_at,
                }
            )
        return sorted(out, key=lambda d: (d["volume_id"], d["initiator"], d["session_id"]))

    # -- Cinder's older volume actions -----------------------------------------------

    def _volume_attachments(
        self, caller: Caller, volume_id: str
    ) -> tuple[Volume, list[Attachment]]:
        def txn(t: Txn) -> tuple[Volume, list[Attachment]]:
            vol = must_get(t, Volume, caller, volume_id, "Volume")
            return vol, attachments_of(t, vol)

        return self.ctx.store.read(txn)

    async def unreserve(self, caller: Caller, volume_id: str) -> None:
        """os-unreserve: drop reservations that never got a connector."""
        must_write(caller)

        def txn(t: Txn) -> None:
            vol = must_get(t, Volume, caller, volume_id, "Volume")
            for att in attachments_of(t, vol):
                if att.status == states.ATT_RESERVED:
                    t.delete(att)
            self._settle(t, vol)

        await self.ctx.store.write(txn)

    async def initialize_connection(
        self, caller: Caller, volume_id: str, connector: dict[str, Any]
    ) -> dict[str, Any]:
        """os-initialize_connection: the connection info for this connector's initiator."""
        connector = check_connector(connector)
        _vol, atts = self._volume_attachments(caller, volume_id)
        mine = next((a for a in atts if a.initiator == connector["initiator"]), None)
        mine = mine or next((a for a in atts if a.status == states.ATT_RESERVED), None)
        if mine is None:
            _att, info = await self.reserve(caller, volume_id, connector=connector)
            assert info is not None
            return info
        _att, info = await self.update_attachment(caller, mine.id, connector)
        return info

    async def attach_legacy(
        self,
        caller: Caller,
        volume_id: str,
        *,
        instance_uuid: Any = None,
        mountpoint: Any = None,
        host_name: Any = None,
    ) -> Attachment:
        """os-attach: complete the connecting attachment (of ``instance_uuid`` if given)."""
        _vol, atts = self._volume_attachments(caller, volume_id)
        ready = [a for a in atts if a.status == states.ATT_ATTACHING]
        if instance_uuid is not None:
            ready = [a for a in ready if a.instance_uuid in (None, instance_uuid)]
        if not ready:
            raise BadRequest(
                f"Invalid volume {volume_id}: no connection to complete; "
                "call os-initialize_connection first."
            )
        return await self.complete_attachment(
            caller,
            ready[0].id,
            mountpoint=mountpoint,
            instance_uuid=instance_uuid,
            host_name=host_name,
        )

    async def begin_detaching(self, caller: Caller, volume_id: str, *, roll: bool = False) -> None:
        """os-begin_detaching (in-use -> detaching) and os-roll_detaching (back)."""
        must_write(caller)

        def txn(t: Txn) -> None:
            vol = must_get(t, Volume, caller, volume_id, "Volume")
            if roll:
                if vol.status == states.DETACHING:
                    self._settle(t, vol)
                return
            states.require("volume", vol.id, vol.status, frozenset({states.IN_USE}))
            vol.previous_status, vol.status = vol.status, states.DETACHING
            t.put(vol)

        await self.ctx.store.write(txn)

    async def terminate_connection(
        self, caller: Caller, volume_id: str, connector: dict[str, Any]
    ) -> None:
        """os-terminate_connection: the connector's initiator loses access (record kept)."""
        must_write(caller)
        connector = check_connector(connector)

        def txn(t: Txn) -> Volume:
            vol = must_get(t, Volume, caller, volume_id, "Volume")
            for att in attachments_of(t, vol):
                if att.initiator == connector["initiator"]:
                    must_not_be_servers(caller, att)
                    att.status = states.ATT_DETACHING
                    t.put(att)
            return vol

        await self._unexport(await self.ctx.store.write(txn))

    async def detach_legacy(
        self, caller: Caller, volume_id: str, attachment_id: Any = None
    ) -> list[Attachment]:
        """os-detach: delete the attachment (the only one when no id is given)."""
        _vol, atts = self._volume_attachments(caller, volume_id)
        if attachment_id is None:
            if len(atts) != 1:
                raise BadRequest(
                    f"Invalid volume {volume_id}: give attachment_id ({len(atts)} attachments)."
                )
            attachment_id = atts[0].id
        if not isinstance(attachment_id, str) or all(a.id != attachment_id for a in atts):
            raise BadRequest(
                f"Invalid attachment {str(attachment_id)[:80]} for volume {volume_id}."
            )
        return await self.delete_attachment(caller, attachment_id)
