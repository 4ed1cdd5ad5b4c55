"""The ring file: what every proxy and storage node loads to place data.

Layout (all integers little-endian)::

    magic    8 bytes   b"STRRING\\n"
    version  u16       FORMAT_VERSION; a newer one is refused, never guessed at
    flags    u16       0 (reserved)
    hlen     u32       length of the JSON header
    header   hlen      UTF-8 JSON: part_power, replicas, ring_version, devices
    table    replicas * 2**part_power * 2 bytes: for each replica, a u16 per
             partition, the index of the device in header["devices"]
    check    u64       xxh3-64 of every byte before it

The table is raw array bytes so that loading 2**20 partitions is a read and
three ``frombytes`` calls, not a parse.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from ring.device import Device
from ring.errors import RingBuilderError, RingFileError

MAGIC = b"STRRING\n"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<8sHHI")
_CHECK = struct.Struct("<Q")
MAX_HEADER = 64 * 1024 * 1024
MAX_PART_POWER = 32
TABLE_TYPE = "H"
assert array(TABLE_TYPE).itemsize == 2


@dataclass
class RingData:
    """A loaded ring: devices in table order and one u16 array of device indexes per replica."""

    part_power: int
    replicas: int
    devices: list[Device]
    table: list[array] = field(repr=False)
    ring_version: int = 0
    #: The file's trailing xxh3-64 as 16 hex digits ("" until encoded or decoded): two
    #: rings of one version with other checksums are two different rings.
    checksum: str = field(default="", compare=False)

    @property
    def partition_count(self) -> int:
        return 1 << self.part_power


def encode(data: RingData) -> bytes:
    """The bytes of a ring file for ``data`` (checked for consistency first)."""
    parts = data.partition_count
    if len(data.table) != data.replicas or any(len(col) != parts for col in data.table):
        raise RingBuilderError("replica table does not match part_power and replicas")
    if len(data.devices) > 0xFFFF:
        raise RingBuilderError("a ring holds at most 65535 devices")
    header = json.dumps(
        {
            "part_power": data.part_power,
            "replicas": data.replicas,
            "ring_version": data.ring_version,
            "devices": [d.to_dict() for d in data.devices],
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    chunks = [_PREAMBLE.pack(MAGIC, FORMAT_VERSION, 0, len(header)), header]
    for col in data.table:
        if sys.byteorder != "little":
            col = array(TABLE_TYPE, col)
            col.byteswap()
        chunks.append(col.tobytes())
    body = b"".join(chunks)
    check = xxhash.xxh3_64_intdigest(body)
    data.checksum = f"{check:016x}"
    return body + _CHECK.pack(check)


def decode(blob: bytes, source: str = "ring file") -> RingData:
    """Parse and verify ring file bytes; anything doubtful raises RingFileError."""
    if len(blob) < _PREAMBLE.size + _CHECK.size:
        raise RingFileError(f"{source}: truncated ({len(blob)} bytes)")
    magic, version, _flags, hlen = _PREAMBLE.unpack_from(blob)
    if magic != MAGIC:
        raise RingFileError(f"{source}: not a Stratus ring file (bad magic)")
    if version > FORMAT_VERSION:
        raise RingFileError(
            f"{source}: ring file format version {version} is newer than this Stratus "
            f"understands (up to {FORMAT_VERSION}); upgrade before loading it"
        )
    if version < 1:
        raise RingFileError(f"{source}: invalid ring file format version {version}")
    (check,) = _CHECK.unpack_from(blob, len(blob) - _CHECK.size)
    view = memoryview(blob)[: len(blob) - _CHECK.size]
    if xxhash.xxh3_64_intdigest(view) != check:
        raise RingFileError(f"{source}: checksum mismatch (truncated or corrupt)")
    if hlen > MAX_HEADER or _PREAMBLE.size + hlen > len(view):
        raise RingFileError(f"{source}: header length {hlen} is out of bounds")
    start = _PREAMBLE.size + hlen
    header = _header(bytes(view[_PREAMBLE.size : start]), source)
    part_power, replicas, devices = header["part_power"], header["replicas"], header["devices"]
    parts = 1 << part_power
    if len(view) - start != replicas * parts * 2:
        raise RingFileError(f"{source}: table size does not match part_power and replicas")
    table = []
    for r in range(replicas):
        raw = view[start + r * parts * 2 : start + (r + 1) * parts * 2]
        if not indexes_below(bytes(raw), len(devices)):
            raise RingFileError(f"{source}: replica table names a device that is not listed")
        col = array(TABLE_TYPE)
        col.frombytes(raw)
        if sys.byteorder != "little":
            col.byteswap()
        table.append(col)
    return RingData(part_power, replicas, devices, table, header["ring_version"], f"{check:016x}")


def indexes_below(raw: bytes, limit: int) -> bool:
    """True when every little-endian u16 in ``raw`` is below ``limit``.

    Done with bytes.translate and big-integer AND, all in C: a Python loop
    (or max()) over 2**20 entries per replica would dominate the load time.
    """
    if limit > 0xFFFF:
        return True
    if limit <= 0:
        return not raw
    top = limit - 1
    hi_top, lo_top = top >> 8, top & 0xFF
    highs, lows = raw[1::2], raw[0::2]
    if highs.translate(None, bytes(range(hi_top + 1))):
        return False  # some high byte is above the top index's
    if lo_top == 0xFF:
        return True
    at_top = highs.translate(bytes(0xFF if b == hi_top else 0 for b in range(256)))
    too_low = lows.translate(bytes(0xFF if b > lo_top else 0 for b in range(256)))
    return not (int.from_bytes(at_top, "little") & int.from_bytes(too_low, "little"))


def _header(raw: bytes, source: str) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RingFileError(f"{source}: header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise RingFileError(f"{source}: header is not an object")
    pp, replicas, version = (header.get(k) for k in ("part_power", "replicas", "ring_version"))
    for name, value, high in (
        ("part_power", pp, MAX_PART_POWER),
        ("replicas", replicas, 255),
        ("ring_version", version, 2**63),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise RingFileError(f"{source}: header {name} is invalid: {value!r}")
    if header["replicas"] < 1:  # an int now: checked above
        raise RingFileError(f"{source}: a ring needs at least one replica")
    raw_devices = header.get("devices")
    if not isinstance(raw_devices, list) or not raw_devices:
        raise RingFileError(f"{source}: header lists no devices")
    try:
        devices = [Device.from_dict(d) for d in raw_devices]
    except RingBuilderError as exc:
        raise RingFileError(f"{source}: {exc}") from None
    if len({d.id for d in devices}) != len(devices):
        raise RingFileError(f"{source}: device ids repeat")
    header["devices"] = devices
    return header


def read_ring_file(path: str | os.PathLike[str]) -> RingData:
    """Load a ring file (RingFileError if it is missing, unreadable or not trustworthy)."""
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise RingFileError(f"cannot read ring file {os.fspath(path)}: {exc.strerror}") from exc
    return decode(blob, os.fspath(path))


def write_ring_file(path: str | os.PathLike[str], data: RingData) -> None:
    """Write a ring file atomically: readers see the old ring or the new, never half."""
    atomic_write(path, encode(data))


def atomic_write(path: str | os.PathLike[str], blob: bytes) -> None:
    """Temp file in the same directory, fsync, rename, fsync the directory."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # data files are the service user's alone (stratus.private)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory: the names in it (a rename into it, a new entry) are durable."""
    dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
