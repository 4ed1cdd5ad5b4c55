"""Reading the node's requests and writing its response headers.

Everything here is pure (headers in, values out) so the handlers stay
short; bad input raises ``InvalidName`` (400) or ``BadRange`` (416).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectstore.common import wire
from objectstore.node.listing import ListQuery
from objectstore.node.records import (
    AccountInfoRecord,
    ContainerInfoRecord,
    ObjectRecord,
    visible_metadata,
)
from objectstore.node.sender import Target
from objectstore.timestamp import Timestamp

MAX_OBJECT_SIZE = 5 * 1024**3 + 2  # Swift's 5 GiB (+2 like its default)


class BadRange(ValueError):
    """A byte range outside the object (416)."""


def timestamp(headers: Mapping[str, str]) -> Timestamp:
    """The request's X-Timestamp: required on every write."""
    value = headers.get(wire.TIMESTAMP)
    if not value:
        raise wire.InvalidName("missing X-Timestamp")
    try:
        return Timestamp(value)
    except (ValueError, TypeError):
        raise wire.InvalidName(f"bad X-Timestamp {value!r}") from None


def metadata(headers: Mapping[str, str]) -> dict[str, str]:
    return wire.check_metadata(wire.unpack_metadata(headers))


def delete_at(headers: Mapping[str, str]) -> int | None:
    value = headers.get(wire.DELETE_AT)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 12:
        raise wire.InvalidName(f"bad X-Delete-At {value!r}")
    return int(value)


def update_target(headers: Mapping[str, str], kind: str) -> tuple[Target, int] | None:
    """The container (or account) replica to update, from X-<Kind>-Host/Device/Partition."""
    host = headers.get(f"X-{kind}-Host")
    if not host:
        return None
    ip, port = wire.split_host(host)
    device = wire.check_device(headers.get(f"X-{kind}-Device", ""))
    part = wire.parse_part(headers.get(f"X-{kind}-Partition", ""))
    return Target(ip, port, device), part


def _ts(ticks: int) -> str:
    return Timestamp.from_ticks(ticks).normal


def object_headers(rec: ObjectRecord) -> dict[str, str]:
    headers = {
        wire.BACKEND_TIMESTAMP: _ts(rec.timestamp),
        "X-Backend-Size": str(rec.size),
        "ETag": rec.etag,
        "Content-Type": rec.content_type or "application/octet-stream",
        "Accept-Ranges": "bytes",
    }
    if rec.metadata:
        headers.update(wire.pack_metadata(rec.metadata))
    if rec.meta_timestamp:
        headers[wire.META_TIMESTAMP] = _ts(rec.meta_timestamp)
    if rec.delete_at is not None:
        headers[wire.DELETE_AT] = str(rec.delete_at)
    return headers


def container_headers(info: ContainerInfoRecord) -> dict[str, str]:
    headers = {
        wire.BACKEND_TIMESTAMP: _ts(info.put_timestamp),
        wire.PUT_TIMESTAMP: _ts(info.put_timestamp),
        wire.CREATED_AT: _ts(info.created_at),
        wire.OBJECT_COUNT: str(info.object_count),
        wire.BYTES_USED: str(info.bytes_used),
    }
    if info.delete_timestamp:
        headers[wire.DELETE_TIMESTAMP] = _ts(info.delete_timestamp)
    headers.update(wire.pack_metadata(visible_metadata(info.metadata)))
    return headers


def account_headers(info: AccountInfoRecord) -> dict[str, str]:
    headers = {
        wire.BACKEND_TIMESTAMP: _ts(info.put_timestamp),
        wire.PUT_TIMESTAMP: _ts(info.put_timestamp),
        wire.CREATED_AT: _ts(info.created_at),
        wire.CONTAINER_COUNT: str(info.container_count),
        wire.OBJECT_COUNT: str(info.object_count),
        wire.BYTES_USED: str(info.bytes_used),
    }
    if info.delete_timestamp:
        headers[wire.DELETE_TIMESTAMP] = _ts(info.delete_timestamp)
    headers.update(wire.pack_metadata(visible_metadata(info.metadata)))
    return headers


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as (first, last inclusive); None means the whole body.

    Several ranges are ignored (the proxy assembles multipart answers);
    a syntactically bad header is ignored too, as RFC 9110 allows.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash or not (first_s or last_s) or not (first_s + last_s).isdigit():
        return None
    try:
        first = int(first_s) if first_s else -1
        last = int(last_s) if last_s else size - 1
    except ValueError:
        return None
    if first_s == "":  # the last ``last_s`` bytes
        if last <= 0 or size == 0:
            raise BadRange()
        return max(0, size - last), size - 1
    if first >= size:
        raise BadRange()
    if first < 0 or last < first:
        return None
    return first, min(last, size - 1)


def listing_query(query: Mapping[str, str]) -> ListQuery:
    def text(name: str, limit: int) -> str:
        value = query.get(name, "")
        try:
            too_long = len(value.encode("utf-8")) > limit
        except UnicodeEncodeError:
            raise wire.InvalidName(f"{name} is not valid UTF-8") from None
        if too_long or "\x00" in value:
            raise wire.InvalidName(f"bad {name}")
        return value

    limit_s = query.get("limit", str(wire.MAX_LISTING_LIMIT))
    if not limit_s.isdigit():
        raise wire.InvalidName("bad limit")
    path: Any = query.get("path")
    if path is not None:
        path = text("path", wire.MAX_OBJECT_NAME)
    return ListQuery(
        prefix=text("prefix", wire.MAX_OBJECT_NAME),
        marker=text("marker", wire.MAX_OBJECT_NAME),
        end_marker=text("end_marker", wire.MAX_OBJECT_NAME),
        limit=min(int(limit_s), wire.MAX_LISTING_LIMIT),
        delimiter=text("delimiter", wire.MAX_OBJECT_NAME),  # Swift: any length
        reverse=query.get("reverse", "").lower() in ("1", "true", "yes", "on"),
        path=path,
    )
