"""Backup chunks as stored objects: hashed, compressed, framed with a version.

A chunk is named by the xxh3_128 digest of its raw bytes
(``chunks/<32 hex>``), so identical chunks, within one volume or across
backups of a project, are stored once. The stored body is a 9-byte frame
(``SBC`` magic, version, codec, raw length) and the payload: zstd (level 1,
fast enough to keep up with the network) or zlib, or the raw bytes when
compression does not help (random data), so restoring never pays for
useless decompression. All-zero chunks are never stored: the manifest
records them as holes.
"""

from __future__ import annotations

import struct
import zlib

import xxhash

try:  # the dependency is declared; zlib stays the fallback if it is absent
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None

MAGIC = b"SBC"
VERSION = 1
RAW, ZLIB, ZSTD = 0, 1, 2
CODECS = {"none": RAW, "zlib": ZLIB, "zstd": ZSTD}
FRAME = struct.Struct(">3sBBI")  # magic, version, codec, raw length
PREFIX = "chunks/"
_ZEROS = bytes(4 * 1024 * 1024)
# Chunk sizes a manifest may name (volume.backup_chunk_size's range): chunks and
# manifests live in the tenant's own account, so every size read from them is bounded.
MIN_CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024
MAX_WINDOW = 1 << 24  # zstd window a chunk may ask for (level 1 uses far less)


class ChunkError(Exception):
    """A stored chunk is not a chunk, or does not match its name."""


def digest(data: bytes | memoryview) -> bytes:
    return xxhash.xxh3_128_digest(data)


def object_name(dig: bytes) -> str:
    return PREFIX + dig.hex()


def digest_of_name(name: str) -> bytes | None:
    if not name.startswith(PREFIX):
        return None
    try:
        dig = bytes.fromhex(name[len(PREFIX) :])
    except ValueError:
        return None
    return dig if len(dig) == 16 else None


def is_zero(data: bytes | memoryview) -> bool:
    n = len(data)
    if n <= len(_ZEROS):
        return data == _ZEROS[:n]
    return bytes(data).count(0) == n


def codec_for(name: str) -> int:
    codec = CODECS[name]
    if codec == ZSTD and zstandard is None:
        return ZLIB
    return codec


def encode(data: bytes | memoryview, codec: int) -> bytes:
    """The stored body of a chunk (raw when compression gains under 1/16)."""
    payload, used = data, RAW
    if codec == ZSTD and zstandard is not None:
        payload, used = zstandard.ZstdCompressor(level=1).compress(data), ZSTD
    elif codec == ZLIB:
        payload, used = zlib.compress(data, 1), ZLIB
    if used != RAW and len(payload) > len(data) - len(data) // 16:
        payload, used = data, RAW
    return FRAME.pack(MAGIC, VERSION, used, len(data)) + bytes(payload)


def stored_limit(length: int) -> int:
    """The largest stored body of a chunk of ``length`` raw bytes (``encode`` never
    stores a payload larger than the raw bytes)."""
    return FRAME.size + length


def _unzstd(payload: memoryview, length: int) -> bytes:
    """At most ``length + 1`` bytes out, whatever the frame declares (a bomb is refused
    from its header, before any output is made)."""
    assert zstandard is not None  # decode() asks only when it is installed
    declared = zstandard.frame_content_size(payload)
    if declared > length:
        raise ChunkError(f"chunk declares {declared} bytes, more than its {length}")
    dctx = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)
    with dctx.stream_reader(payload, read_across_frames=True) as reader:
        return reader.read(length + 1)


def decode(body: bytes, expected: bytes | None = None, *, max_length: int | None = None) -> bytes:
    """The raw bytes of a stored chunk; ChunkError if framing or digest is wrong, or if it
    would be longer than ``max_length`` (output is bounded before decompressing)."""
    if len(body) < FRAME.size:
        raise ChunkError("chunk too short")
    magic, version, codec, length = FRAME.unpack_from(body)
    if magic != MAGIC or version != VERSION:
        raise ChunkError(f"not a version-{VERSION} chunk")
    if length > (MAX_CHUNK_SIZE if max_length is None else max_length):
        raise ChunkError(f"chunk frame declares {length} bytes, more than a chunk may hold")
    payload = memoryview(body)[FRAME.size :]
    try:
        if codec == RAW:
            data = bytes(payload)
        elif codec == ZLIB:
            data = zlib.decompressobj().decompress(payload, length + 1)
        elif codec == ZSTD and zstandard is not None:
            data = _unzstd(payload, length)
        else:
            raise ChunkError(f"unknown chunk codec {codec}")
    except (zlib.error, ValueError) as exc:
        if isinstance(exc, ChunkError):
            raise
        raise ChunkError(f"chunk does not decompress: {exc}") from None
    except Exception as exc:  # zstandard.ZstdError
        if isinstance(exc, ChunkError):
            raise
        raise ChunkError(f"chunk does not decompress: {exc}") from None
    if len(data) != length:
        raise ChunkError("chunk length differs from its frame")
    if expected is not None and digest(data) != expected:
        raise ChunkError("chunk digest differs from its name")
    return data
