"""S3 additional checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256.

CRC32 comes from zlib; CRC32C and CRC64NVME from awscrt (the AWS SDKs' own
implementation); the SHA family from hashlib. Values travel base64-encoded
big-endian digests, as in ``x-amz-checksum-<algorithm>`` headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Mapping

from awscrt import checksums as crt

from s3compat.errors import S3Error

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


class _Crc:
    def __init__(self, fn: Callable[[bytes, int], int], width: int) -> None:
        self._fn = fn
        self._width = width
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = self._fn(bytes(data) if isinstance(data, memoryview) else data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


def new(algorithm: str) -> _Crc | hashlib._Hash:  # type: ignore[name-defined]
    """A fresh hasher with update() and digest() for one algorithm."""
    algorithm = algorithm.upper()
    if algorithm == "CRC32":
        return _Crc(lambda d, v: zlib.crc32(d, v), 4)
    if algorithm == "CRC32C":
        return _Crc(lambda d, v: crt.crc32c(d, v), 4)
    if algorithm == "CRC64NVME":
        return _Crc(lambda d, v: crt.crc64nvme(d, v), 8)
    if algorithm == "SHA1":
        return hashlib.sha1()
    if algorithm == "SHA256":
        return hashlib.sha256()
    raise S3Error("InvalidRequest", f"Unsupported checksum algorithm {algorithm!r}")


def header_name(algorithm: str) -> str:
    return f"x-amz-checksum-{algorithm.lower()}"


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def compute(algorithm: str, data: bytes) -> str:
    h = new(algorithm)
    h.update(data)
    return encode(h.digest())


def declared(headers: Mapping[str, str]) -> tuple[str, str | None] | None:
    """Which checksum a request declares: (algorithm, value or None if trailing).

    Looks at ``x-amz-checksum-*`` headers, then at ``x-amz-trailer`` (value
    arrives after the body), then at ``x-amz-sdk-checksum-algorithm``.
    ``headers`` must have lower-case names.
    """
    found = [(a, headers[header_name(a)]) for a in ALGORITHMS if header_name(a) in headers]
    if len(found) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header")
    if found:
        algorithm, value = found[0]
        _check_format(algorithm, value)
        return algorithm, value
    trailer = headers.get("x-amz-trailer")
    if trailer:
        name = trailer.strip().lower()
        for a in ALGORITHMS:
            if header_name(a) == name:
                return a, None
        raise S3Error("InvalidRequest", f"Unsupported x-amz-trailer {trailer!r}")
    sdk = headers.get("x-amz-sdk-checksum-algorithm")
    if sdk:
        if sdk.upper() not in ALGORITHMS:
            raise S3Error("InvalidRequest", f"Unsupported checksum algorithm {sdk!r}")
        return sdk.upper(), None
    return None


def _check_format(algorithm: str, value: str) -> None:
    size = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}[algorithm]
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise S3Error("InvalidRequest", f"Value for {header_name(algorithm)} header is invalid.")


def verify(algorithm: str, expected: str, digest: bytes) -> None:
    """Raise BadDigest when the body does not have the declared checksum."""
    _check_format(algorithm, expected)
    if encode(digest) != expected:
        raise S3Error(
            "BadDigest",
            f"The {algorithm} you specified did not match the calculated checksum.",
        )
