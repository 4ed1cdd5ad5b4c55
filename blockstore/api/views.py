"""Records as Cinder's JSON shapes (summary and detail views, links, pagination links)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from blockstore.manager.records import (
    Attachment,
    Backup,
    QosSpec,
    Snapshot,
    Volume,
    VolumeType,
)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(base: str, project: str, kind: str, ident: str) -> list[dict[str, str]]:
    return [
        {"href": f"{base}/v3/{project}/{kind}/{ident}", "rel": "self"},
        {"href": f"{base}/{project}/{kind}/{ident}", "rel": "bookmark"},
    ]


def next_link(base: str, project: str, kind: str, query: dict[str, str], last: str) -> list[dict]:
    params = {k: v for k, v in query.items() if k != "marker"}
    params["marker"] = last
    return [{"href": f"{base}/v3/{project}/{kind}?{urlencode(params)}", "rel": "next"}]


def page(
    base: str,
    project: str,
    kind: str,
    query: dict[str, str],
    shown: list[dict[str, Any]],
    last: str | None,
    *,
    key: str | None = None,
) -> dict[str, Any]:
    """A list answer: ``{key: shown}``, and ``<key>_links`` to the next page when ``last``
    (the id of the last item, when more follow). ``kind`` is the path listed, ``key``
    defaults to its first part."""
    key = key or kind.split("/")[0]
    out: dict[str, Any] = {key: shown}
    if last is not None:
        out[f"{key}_links"] = next_link(base, project, kind, query, last)
    return out


def volume_summary(base: str, vol: Volume) -> dict[str, Any]:
    return {"id": vol.id, "name": vol.name, "links": links(base, vol.project, "volumes", vol.id)}


def volume_detail(
    base: str,
    vol: Volume,
    atts: list[Attachment],
    type_name: str | None,
    *,
    admin_host: str | None = None,
) -> dict[str, Any]:
    """``admin_host``: the caller is a cloud admin, who alone sees where the volume lives
    (``os-vol-host-attr:host``) and its migration (Cinder's admin-only attributes)."""
    out = _volume_detail(base, vol, atts, type_name)
    if admin_host is not None:
        out["os-vol-host-attr:host"] = vol.host or admin_host or None
        out["migration_status"] = vol.migration_status
        out["os-vol-mig-status-attr:migstat"] = vol.migration_status
        out["os-vol-mig-status-attr:name_id"] = None
    return out


def _volume_detail(
    base: str, vol: Volume, atts: list[Attachment], type_name: str | None
) -> dict[str, Any]:
    return {
        **volume_summary(base, vol),
        "description": vol.description,
        "size": vol.size,
        "status": vol.status,
        "availability_zone": "nova",
        "bootable": "true" if vol.bootable else "false",
        "encrypted": False,
        "multiattach": vol.multiattach,
        "created_at": iso(vol.created_at),
        "updated_at": iso(vol.updated_at),
        "volume_type": type_name,
        "volume_type_id": vol.volume_type_id,
        "snapshot_id": vol.snapshot_id,
        "source_volid": vol.source_volid,
        "backup_id": vol.backup_id,
        "metadata": visible_metadata(vol),
        "user_id": vol.user,
        "os-vol-tenant-attr:tenant_id": vol.project,
        "replication_status": "disabled",
        "consistencygroup_id": None,
        "group_id": None,
        "migration_status": None,
        "shared_targets": False,
        "attachments": [volume_attachment(a) for a in atts if a.status == "attached"],
        "fail_reason": vol.fail_reason,
        "encryption_key_id": None,  # 3.64
        "consumes_quota": True,  # 3.65
    }


def visible_metadata(vol: Volume) -> dict[str, str]:
    """The user's metadata plus the read-only flag, which Cinder (an admin metadata key
    it makes visible) shows there, so ``volume set --read-only`` can be seen."""
    if not vol.readonly:
        return vol.metadata
    return {**vol.metadata, "readonly": "True"}


def volume_attachment(att: Attachment) -> dict[str, Any]:
    """An attachment as it appears inside a volume's ``attachments`` list."""
    return {
        "id": att.volume_id,
        "attachment_id": att.id,
        "volume_id": att.volume_id,
        "server_id": att.instance_uuid,
        "host_name": att.host_name,
        "device": att.mountpoint,
        "attached_at": iso(att.attached_at),
    }


def attachment_view(att: Attachment, connection: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": att.id,
        "status": att.status,
        "instance": att.instance_uuid,
        "volume_id": att.volume_id,
        "attach_mode": att.attach_mode,
        "attached_at": iso(att.attached_at),
        "detached_at": None,
        "connector": att.connector,
        "connection_info": connection or {},
    }


def snapshot_view(base: str, snap: Snapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "name": snap.name,
        "description": snap.description,
        "volume_id": snap.volume_id,
        "status": snap.status,
        "size": snap.size,
        "metadata": snap.metadata,
        "created_at": iso(snap.created_at),
        "updated_at": iso(snap.updated_at),
        "user_id": snap.user,
        "os-extended-snapshot-attributes:project_id": snap.project,
        "os-extended-snapshot-attributes:progress": "100%" if snap.status == "available" else "0%",
        "group_snapshot_id": None,
        "consumes_quota": True,  # 3.65
        "links": links(base, snap.project, "snapshots", snap.id),
    }


def backup_summary(base: str, bk: Backup) -> dict[str, Any]:
    return {"id": bk.id, "name": bk.name, "links": links(base, bk.project, "backups", bk.id)}


def backup_detail(base: str, bk: Backup, has_dependents: bool = False) -> dict[str, Any]:
    return {
        **backup_summary(base, bk),
        "description": bk.description,
        "status": bk.status,
        "size": bk.size,
        "object_count": bk.object_count,
        "container": bk.container,
        "volume_id": bk.volume_id,
        "snapshot_id": bk.snapshot_id,
        "is_incremental": bk.incremental,
        "parent_id": bk.parent_id,
        "has_dependent_backups": has_dependents,
        "availability_zone": "nova",
        "created_at": iso(bk.created_at),
        "updated_at": iso(bk.updated_at),
        "data_timestamp": iso(bk.data_timestamp),
        "fail_reason": bk.fail_reason,
        "metadata": bk.metadata,
        "user_id": bk.user,
        "os-backup-project-attr:project_id": bk.project,
        "progress": round(bk.progress, 1),
        "chunk_count": bk.chunk_count,
        "stored_bytes": bk.stored_bytes,
        "verify_result": bk.verify_result,
    }


def type_view(vt: VolumeType) -> dict[str, Any]:
    return {
        "id": vt.id,
        "name": vt.name,
        "description": vt.description,
        "is_public": vt.is_public,
        "os-volume-type-access:is_public": vt.is_public,
        "extra_specs": vt.extra_specs,
        "qos_specs_id": vt.qos_specs_id,
    }


def qos_view(q: QosSpec) -> dict[str, Any]:
    return {"id": q.id, "name": q.name, "consumer": q.consumer, "specs": q.specs}
