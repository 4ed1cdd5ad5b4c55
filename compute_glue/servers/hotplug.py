"""Volumes inside a VM: the iSCSI block node and virtio-blk device QEMU gets, over QMP or argv.

Attaching follows the order QEMU needs: the CHAP secret object, the block
node (QEMU's iSCSI driver logs in here), then the PCI device the guest
sees. Detaching reverses it and waits for the guest to release the device
(``DEVICE_DELETED``) before the block node goes. Each step that was done is
undone when a later one fails, so a failed hot-plug leaves nothing in QEMU.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from compute_glue.servers.model import Attachment
from compute_glue.servers.process import Disk
from compute_glue.servers.qmp import QmpClient, QmpError

log = logging.getLogger("compute_glue.servers.hotplug")


class ConnectionInfoError(ValueError):
    """The volume service's connection info is not an iSCSI target QEMU can use."""


def iscsi_target(info: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of os-brick iSCSI connection info, checked."""
    if not isinstance(info, dict) or info.get("driver_volume_type") != "iscsi":
        raise ConnectionInfoError("the volume is not exported over iSCSI")
    data = info.get("data")
    if not isinstance(data, dict):
        raise ConnectionInfoError("connection info without data")
    for key in ("target_portal", "target_iqn", "target_lun"):
        if key not in data:
            raise ConnectionInfoError(f"connection info without {key}")
    return data


def block_node(att: Attachment, info: dict[str, Any], initiator: str) -> dict[str, Any]:
    """QEMU's iSCSI block node for the attachment (CHAP through the secret object)."""
    data = iscsi_target(info)
    node: dict[str, Any] = {
        "driver": "iscsi",
        "node-name": att.node,
        "transport": "tcp",
        "portal": str(data["target_portal"]),
        "target": str(data["target_iqn"]),
        "lun": int(data["target_lun"]),
        "initiator-name": initiator,
        "cache": {"direct": True},
    }
    if str(data.get("auth_method", "")).upper() == "CHAP":
        node["user"] = str(data["auth_username"])
        node["password-secret"] = att.secret_id
    if data.get("access_mode") == "ro":
        node["read-only"] = True
    return node


def chap_password(info: dict[str, Any]) -> str | None:
    data = iscsi_target(info)
    if str(data.get("auth_method", "")).upper() != "CHAP":
        return None
    return str(data["auth_password"])


def block_device(att: Attachment, *, hotplug: bool) -> dict[str, Any]:
    """The virtio-blk device; its serial is the volume id's first 20 characters (as Nova)."""
    dev: dict[str, Any] = {
        "driver": "virtio-blk-pci",
        "id": att.device_id,
        "drive": att.node,
        "serial": att.volume_id[:20],
    }
    if hotplug:
        dev["bus"] = "pci.0"
    if att.boot_index is not None:
        dev["bootindex"] = att.boot_index
    return dev


def boot_disk(att: Attachment, info: dict[str, Any], initiator: str, secret_file: Any) -> Disk:
    """The attachment as a disk on QEMU's command line (a server starting with it)."""
    password = chap_password(info)
    return Disk(
        node=block_node(att, info, initiator),
        device=block_device(att, hotplug=False),
        secret_id=att.secret_id if password is not None else None,
        secret_file=secret_file if password is not None else None,
    )


async def plug(
    qmp: QmpClient, att: Attachment, info: dict[str, Any], initiator: str, timeout: float
) -> None:
    """Hot-plug the volume into the running VM; on failure undo what was done and raise."""
    await add_node(qmp, att, info, initiator, timeout)
    try:
        await qmp.execute("device_add", block_device(att, hotplug=True), timeout=timeout)
    except BaseException:
        await _undo(qmp, att, ["secret", "node"], timeout)
        raise


async def add_node(
    qmp: QmpClient, att: Attachment, info: dict[str, Any], initiator: str, timeout: float
) -> None:
    """The CHAP secret and the iSCSI block node (QEMU logs in), no device; undone on failure."""
    password = chap_password(info)
    node = block_node(att, info, initiator)
    done: list[str] = []
    try:
        if password is not None:
            await qmp.execute(
                "object-add",
                {"qom-type": "secret", "id": att.secret_id, "data": password},
                timeout=timeout,
            )
            done.append("secret")
        await qmp.execute("blockdev-add", node, timeout=timeout)
    except BaseException:
        await _undo(qmp, att, done, timeout)
        raise


async def _undo(qmp: QmpClient, att: Attachment, done: list[str], timeout: float) -> None:
    if qmp.closed:
        return
    if "node" in done:
        with contextlib.suppress(Exception):
            await qmp.execute("blockdev-del", {"node-name": att.node}, timeout=timeout)
    if "secret" in done:
        with contextlib.suppress(Exception):
            await qmp.execute("object-del", {"id": att.secret_id}, timeout=timeout)


async def unplug(qmp: QmpClient, att: Attachment, *, detach_timeout: float, timeout: float) -> None:
    """Unplug the device, wait for the guest's release, then drop node and secret.

    TimeoutError when the guest does not release the device in time: the disk
    is then still in the VM, and the caller keeps the attachment.
    """
    if await has_device(qmp, att, timeout):
        qmp.discard_events("DEVICE_DELETED", {"device": att.device_id})
        try:
            await qmp.execute("device_del", {"id": att.device_id}, timeout=timeout)
        except QmpError as exc:
            if "not found" not in exc.desc.lower():
                raise
        else:
            await qmp.wait_event(
                "DEVICE_DELETED", data={"device": att.device_id}, timeout=detach_timeout
            )
    await drop_backend(qmp, att, timeout)


async def drop_backend(qmp: QmpClient, att: Attachment, timeout: float) -> None:
    """Remove the block node and the secret if QEMU still has them."""
    nodes = await qmp.execute("query-named-block-nodes", timeout=timeout)
    if any(n.get("node-name") == att.node for n in nodes):
        await qmp.execute("blockdev-del", {"node-name": att.node}, timeout=timeout)
    with contextlib.suppress(QmpError):
        await qmp.execute("object-del", {"id": att.secret_id}, timeout=timeout)


async def has_device(qmp: QmpClient, att: Attachment, timeout: float) -> bool:
    """Whether the VM still has the attachment's PCI device."""
    children = await qmp.execute("qom-list", {"path": "/machine/peripheral"}, timeout=timeout)
    return any(c.get("name") == att.device_id for c in children)
