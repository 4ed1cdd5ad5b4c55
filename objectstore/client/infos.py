"""A node's answer headers read back into ObjectInfo, ContainerInfo and AccountInfo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectstore.common import wire
from objectstore.common.values import AccountInfo, ContainerInfo, ObjectInfo
from objectstore.timestamp import Timestamp


def _ts(headers: Mapping[str, str], name: str) -> Timestamp | None:
    value = headers.get(name)
    return Timestamp(value) if value else None


def object_info(headers: Mapping[str, str]) -> ObjectInfo:
    delete_at = headers.get(wire.DELETE_AT)
    size = headers.get("X-Backend-Size") or headers.get("Content-Length", "0")
    return ObjectInfo(
        timestamp=Timestamp(headers[wire.BACKEND_TIMESTAMP]),
        size=int(size),
        etag=headers.get("ETag", "").strip('"'),
        content_type=headers.get("Content-Type", ""),
        metadata=wire.unpack_metadata(headers),
        delete_at=int(delete_at) if delete_at else None,
        meta_timestamp=_ts(headers, wire.META_TIMESTAMP),
    )


def _database_fields(headers: Mapping[str, str]) -> dict[str, Any]:
    """What the info of a container and of an account both carry."""
    return {
        "put_timestamp": Timestamp(headers[wire.PUT_TIMESTAMP]),
        "delete_timestamp": _ts(headers, wire.DELETE_TIMESTAMP),
        "created_at": Timestamp(headers[wire.CREATED_AT]),
        "object_count": int(headers[wire.OBJECT_COUNT]),
        "bytes_used": int(headers[wire.BYTES_USED]),
        "metadata": wire.unpack_metadata(headers),
    }


def container_info(headers: Mapping[str, str]) -> ContainerInfo:
    return ContainerInfo(**_database_fields(headers))


def account_info(headers: Mapping[str, str]) -> AccountInfo:
    return AccountInfo(
        container_count=int(headers[wire.CONTAINER_COUNT]), **_database_fields(headers)
    )
