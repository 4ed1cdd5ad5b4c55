"""The builder file: the whole state of a ring builder, as versioned JSON.

Builders are edited rarely and by people, so JSON is fine; only the two big
per-partition arrays (replica table, last-move minutes) are packed, as
base64 of zlib of little-endian array bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import sys
import zlib
from array import array
from dataclasses import dataclass
from typing import Any

from ring.device import Device
from ring.errors import RingBuilderError, RingFileError

FORMAT = "stratus-ring-builder"
FORMAT_VERSION = 1
MAX_BUILDER_BYTES = 512 * 1024 * 1024


@dataclass
class BuilderState:
    """Everything a builder file holds."""

    part_power: int
    replicas: int
    min_part_hours: int
    overload: float
    devices: list[Device]
    next_id: int
    removed: list[int]
    ring_version: int
    dirty: bool
    table: list[array] | None
    last_moved: array | None


def _pack(arr: array) -> str:
    if sys.byteorder != "little":
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return base64.b64encode(zlib.compress(arr.tobytes(), 6)).decode("ascii")


def _unpack(text: Any, typecode: str, length: int, what: str) -> array:
    if not isinstance(text, str):
        raise RingFileError(f"builder {what} is not packed data")
    arr = array(typecode)
    try:
        inflate = zlib.decompressobj()
        # Bounded: a corrupt file must not inflate into gigabytes.
        raw = inflate.decompress(base64.b64decode(text, validate=True), length * arr.itemsize + 1)
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise RingFileError(f"builder {what} is corrupt: {exc}") from None
    if len(raw) != length * arr.itemsize:
        raise RingFileError(f"builder {what} has the wrong length")
    arr.frombytes(raw)
    if sys.byteorder != "little":
        arr.byteswap()
    return arr


def encode(state: BuilderState) -> bytes:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "part_power": state.part_power,
        "replicas": state.replicas,
        "min_part_hours": state.min_part_hours,
        "overload": state.overload,
        "next_id": state.next_id,
        "removed": sorted(state.removed),
        "ring_version": state.ring_version,
        "dirty": state.dirty,
        "devices": [d.to_dict() for d in state.devices],
        "table": None if state.table is None else [_pack(col) for col in state.table],
        "last_moved": None if state.last_moved is None else _pack(state.last_moved),
    }
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def _int(doc: dict[str, Any], key: str, low: int, high: int) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RingFileError(f"builder {key} is invalid: {value!r}")
    return value


def decode(blob: bytes, source: str = "builder file") -> BuilderState:
    """Parse and check a builder file; RingFileError for anything doubtful."""
    try:
        doc = json.loads(blob)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RingFileError(f"{source}: not a builder file (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RingFileError(f"{source}: not a Stratus ring builder file")
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise RingFileError(
            f"{source}: builder format version {version} is newer than this Stratus "
            f"understands (up to {FORMAT_VERSION}); upgrade before using it"
        )
    if version != FORMAT_VERSION:
        raise RingFileError(f"{source}: invalid builder format version {version!r}")
    try:
        return _state(doc)
    except RingBuilderError as exc:
        raise RingFileError(f"{source}: {exc}") from None
    except RingFileError as exc:
        raise RingFileError(f"{source}: {exc}") from None


def _state(doc: dict[str, Any]) -> BuilderState:
    pp = _int(doc, "part_power", 0, 32)
    replicas = _int(doc, "replicas", 1, 255)
    parts = 1 << pp
    overload = doc.get("overload")
    if isinstance(overload, bool) or not isinstance(overload, int | float):
        raise RingFileError(f"builder overload is invalid: {overload!r}")
    if not math.isfinite(overload) or overload < 0:
        raise RingFileError(f"builder overload is invalid: {overload!r}")
    raw_devices = doc.get("devices")
    if not isinstance(raw_devices, list):
        raise RingFileError("builder devices is not a list")
    devices = [Device.from_dict(d) for d in raw_devices]
    if len({d.id for d in devices}) != len(devices):
        raise RingFileError("builder device ids repeat")
    removed = doc.get("removed")
    if not isinstance(removed, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 0xFFFF for i in removed
    ):
        raise RingFileError("builder removed is not a list of device ids")
    table = None
    if doc.get("table") is not None:
        cols = doc["table"]
        if not isinstance(cols, list) or len(cols) != replicas:
            raise RingFileError("builder table does not have one column per replica")
        table = [_unpack(c, "H", parts, "table") for c in cols]
    last_moved = None
    if doc.get("last_moved") is not None:
        last_moved = _unpack(doc["last_moved"], "I", parts, "last_moved")
    if (table is None) != (last_moved is None):
        raise RingFileError("builder table and last_moved must both be present or absent")
    dirty = doc.get("dirty")
    if not isinstance(dirty, bool):
        raise RingFileError("builder dirty is not a boolean")
    return BuilderState(
        part_power=pp,
        replicas=replicas,
        min_part_hours=_int(doc, "min_part_hours", 0, 2**31),
        overload=float(overload),
        devices=devices,
        next_id=_int(doc, "next_id", 0, 0xFFFF),
        removed=list(removed),
        ring_version=_int(doc, "ring_version", 0, 2**63),
        dirty=dirty,
        table=table,
        last_moved=last_moved,
    )
