"""The storage node's internal HTTP dialect, shared by the node and its client.

Kept in one module (in ``objectstore.common``, which neither side owns) so
that the server and ``objectstore.client`` cannot disagree on a header name,
a path shape or a limit.

Paths (every name percent-encoded as one segment, ``.`` included, so a
name never becomes a ``..`` segment and a ``/`` inside an object name
never splits it)::

    /o/<device>/<part>/<account>/<container>/<object>   object
    /c/<device>/<part>/<account>/<container>            container (GET lists)
    /a/<device>/<part>/<account>                        account (GET lists)
    /cu/<device>                                        batched container row updates
    /au/<device>                                        batched account row updates
    /healthcheck
    /stats                                              counters and worker state (JSON)
    /metrics                                            Prometheus text exposition
    /replicate                                          POST: run replication passes now
    /parts/<device>                                     partitions held, per ring (JSON)
    /ring/<account|container|object>                    PUT: install a pushed ring file,
                                                        signed (objectstore.common.ringsign)

Replication (node to node, msgpack bodies ``[REPL_VERSION, ...]``)::

    GET  /ro/<device>/<part>          suffix hashes of the partition's objects
    POST /ro/<device>/<part>/list     entries of some suffixes
    POST /ro/<device>/<part>/push     a batch of entries (tombstones, metadata, small bodies)
    PUT  /ro/<device>/<part>/body     one entry with its body streamed
    GET  /rc/<device>/<part>          container digests (``/ra/``: accounts)
    POST /rc/<device>/<part>/push     a container's info and a page of its rows

User metadata travels msgpack-packed and base64-encoded, split over
``X-Backend-Metadata-<n>`` headers so each header line stays well under
aiohttp's default 8 KiB field limit and any UTF-8 survives.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote_to_bytes

import msgpack

# --- limits -------------------------------------------------------------------
MAX_OBJECT_NAME = 1024
MAX_CONTAINER_NAME = 256
MAX_ACCOUNT_NAME = 256
MAX_META_COUNT = 90
MAX_META_NAME = 256
MAX_META_VALUE = 4096
MAX_META_OVERALL = 8192
MAX_LISTING_LIMIT = 10000
MAX_PART = 2**32 - 1
DEVICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# --- headers ------------------------------------------------------------------
TIMESTAMP = "X-Timestamp"
BACKEND_TIMESTAMP = "X-Backend-Timestamp"
META_TIMESTAMP = "X-Backend-Meta-Timestamp"
PUT_TIMESTAMP = "X-Backend-Put-Timestamp"
DELETE_TIMESTAMP = "X-Backend-Delete-Timestamp"
CREATED_AT = "X-Backend-Created-At"
DELETE_AT = "X-Backend-Delete-At"
EXPECTED_ETAG = "X-Backend-Expected-Etag"
# A POST's new content type: aiohttp adds its own Content-Type to a bodiless POST.
POST_CONTENT_TYPE = "X-Backend-Content-Type"
METADATA_PREFIX = "X-Backend-Metadata-"
OBJECT_COUNT = "X-Backend-Object-Count"
BYTES_USED = "X-Backend-Bytes-Used"
CONTAINER_COUNT = "X-Backend-Container-Count"
CONTAINER_HOST = "X-Container-Host"
CONTAINER_DEVICE = "X-Container-Device"
CONTAINER_PARTITION = "X-Container-Partition"
ACCOUNT_HOST = "X-Account-Host"
ACCOUNT_DEVICE = "X-Account-Device"
ACCOUNT_PARTITION = "X-Account-Partition"
TRANS_ID = "X-Trans-Id"
CREATED = "X-Backend-Created"
MSGPACK = "application/x-msgpack"

_META_CHUNK = 6000
# A container's metadata grows by many requests (S3 configurations cut into parts:
# a 1 MiB lifecycle, 64 KB CORS, 20 KB policy...), so a response may carry ~2 MiB of it.
MAX_META_HEADERS = 512
LISTING_VERSION = 1
BATCH_VERSION = 1
REPL_VERSION = 1
#: An object record (versioned store encoding, base64) sent with a replicated body.
RECORD = "X-Backend-Record"
#: The 16-byte name hash (hex) of a replicated object.
OBJECT_KEY = "X-Backend-Object-Key"
REPL_KINDS = ("ro", "rc", "ra")


class InvalidName(ValueError):
    """A name, device, partition or metadata item that the node refuses."""


# --- names --------------------------------------------------------------------
def check_name(kind: str, name: str, limit: int) -> str:
    """Valid names are non-empty UTF-8 without NUL, at most ``limit`` bytes."""
    if not isinstance(name, str) or not name:
        raise InvalidName(f"{kind} name is empty")
    if "\x00" in name:
        raise InvalidName(f"{kind} name contains NUL")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidName(f"{kind} name is not valid UTF-8") from None
    if size > limit:
        raise InvalidName(f"{kind} name is longer than {limit} bytes")
    if kind in ("account", "container") and "/" in name:
        raise InvalidName(f"{kind} name contains '/'")
    return name


def check_device(device: str) -> str:
    if not isinstance(device, str) or not DEVICE_NAME_RE.match(device):
        raise InvalidName(f"bad device name {device!r}")
    return device


def check_part(part: int) -> int:
    if isinstance(part, bool) or not isinstance(part, int) or not 0 <= part <= MAX_PART:
        raise InvalidName(f"bad partition {part!r}")
    return part


def check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Bound metadata: item count, key and value sizes, and the total."""
    if len(metadata) > MAX_META_COUNT:
        raise InvalidName(f"more than {MAX_META_COUNT} metadata items")
    total = 0
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidName("metadata keys and values must be strings")
        if not key or "\x00" in key or "\x00" in value:
            raise InvalidName("metadata key empty or containing NUL")
        try:
            klen, vlen = len(key.encode("utf-8")), len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidName("metadata is not valid UTF-8") from None
        if klen > MAX_META_NAME:
            raise InvalidName(f"metadata key longer than {MAX_META_NAME} bytes")
        if vlen > MAX_META_VALUE:
            raise InvalidName(f"metadata value longer than {MAX_META_VALUE} bytes")
        total += klen + vlen
    if total > MAX_META_OVERALL:
        raise InvalidName(f"metadata larger than {MAX_META_OVERALL} bytes in all")
    return dict(metadata)


# --- paths --------------------------------------------------------------------
def quote_segment(name: str) -> str:
    """Percent-encode a name as one path segment (``/`` and ``.`` included)."""
    return quote(name.encode("utf-8"), safe="").replace(".", "%2E")


def unquote_segment(segment: str) -> str:
    """Inverse of :func:`quote_segment`; invalid UTF-8 raises InvalidName."""
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidName("name is not valid UTF-8") from None


def object_path(device: str, part: int, account: str, container: str, obj: str) -> str:
    return (
        f"/o/{quote_segment(device)}/{part}/{quote_segment(account)}/"
        f"{quote_segment(container)}/{quote_segment(obj)}"
    )


def container_path(device: str, part: int, account: str, container: str) -> str:
    return f"/c/{quote_segment(device)}/{part}/{quote_segment(account)}/{quote_segment(container)}"


def account_path(device: str, part: int, account: str) -> str:
    return f"/a/{quote_segment(device)}/{part}/{quote_segment(account)}"


def repl_path(kind: str, device: str, part: int, action: str = "") -> str:
    """``/ro|rc|ra/<device>/<part>[/<action>]``: the replication endpoints."""
    if kind not in REPL_KINDS:
        raise ValueError(f"unknown replication kind {kind!r}")
    tail = f"/{action}" if action else ""
    return f"/{kind}/{quote_segment(device)}/{part}{tail}"


def parse_part(text: str) -> int:
    if not text.isdigit() or len(text) > 10:
        raise InvalidName(f"bad partition {text!r}")
    return check_part(int(text))


# --- metadata headers ---------------------------------------------------------
def pack_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Headers carrying ``metadata`` (none at all when it is empty)."""
    if not metadata:
        return {}
    blob = base64.b64encode(msgpack.packb(dict(metadata))).decode("ascii")
    return {
        f"{METADATA_PREFIX}{i}": blob[off : off + _META_CHUNK]
        for i, off in enumerate(range(0, len(blob), _META_CHUNK))
    }


def unpack_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """Read back what :func:`pack_metadata` wrote; bad input raises InvalidName."""
    first = headers.get(f"{METADATA_PREFIX}0")
    if first is None:
        return {}
    parts = [first]
    i = 1
    while (more := headers.get(f"{METADATA_PREFIX}{i}")) is not None:
        parts.append(more)
        i += 1
        if i > MAX_META_HEADERS:
            raise InvalidName("too many metadata headers")
    try:
        value = msgpack.unpackb(base64.b64decode("".join(parts), validate=True))
    except Exception:
        raise InvalidName("metadata headers are not decodable") from None
    if not isinstance(value, dict):
        raise InvalidName("metadata headers do not hold a map")
    return value


def split_host(host: str) -> tuple[str, int]:
    """``"ip:port"`` (``"[v6]:port"`` too) into its parts."""
    ip, sep, port = host.rpartition(":")
    if not sep or not port.isdigit() or not ip:
        raise InvalidName(f"bad host {host!r}")
    return ip.strip("[]"), int(port)


def join_host(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
