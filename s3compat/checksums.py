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
from typing import Protocol

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


class Hasher(Protocol):
    """What :func:`new` returns: a CRC of ours or a hashlib object."""

    def update(self, data: bytes | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


def new(algorithm: str) -> Hasher:
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


# x-amz-checksum-* headers that name no checksum value.
NOT_VALUES = frozenset({"x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-mode"})


def trailer_name(value: str | None) -> str | None:
    """The header an x-amz-trailer names (AWS forgives blanks and stray commas around it)."""
    if not value:
        return None
    return value.strip(" \t,").lower() or None


def declared(headers: Mapping[str, str]) -> tuple[str, str | None] | None:
    """Which checksum a request declares: (algorithm, value or None if trailing).

    Looks at ``x-amz-checksum-*`` headers, then at ``x-amz-trailer`` (value
    arrives after the body); ``x-amz-sdk-checksum-algorithm`` must agree with
    them and is not enough on its own (as AWS answers).
    ``headers`` must have lower-case names.
    """
    names = {header_name(a): a for a in ALGORITHMS}
    for name in headers:
        if name.startswith("x-amz-checksum-") and name not in names and name not in NOT_VALUES:
            raise S3Error(
                "InvalidRequest",
                "The algorithm type you specified in x-amz-checksum- header is invalid.",
            )
    sdk = headers.get("x-amz-sdk-checksum-algorithm")
    sdk_alg = sdk.upper() if sdk else None
    if sdk_alg is not None and sdk_alg not in ALGORITHMS:
        raise S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
    found = [(a, headers[h]) for h, a in names.items() if h in headers]
    if len(found) > 1:
        raise S3Error(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    trailer = headers.get("x-amz-trailer")
    if found:
        algorithm, value = found[0]
        value_or_none: str | None = value
    elif trailer:
        algorithm = names.get(trailer_name(trailer) or "", "")
        value_or_none = None
        if not algorithm:
            raise S3Error(
                "InvalidRequest", "The value specified in the x-amz-trailer header is not supported"
            )
    elif sdk_alg is not None:
        raise S3Error(
            "InvalidRequest",
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
            "x-amz-trailer headers were found.",
        )
    else:
        return None
    if sdk_alg is not None and sdk_alg != algorithm:
        raise S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
    if value_or_none is not None:
        check_format(algorithm, value_or_none)
    return algorithm, value_or_none


def invalid_value(algorithm: str) -> S3Error:
    return S3Error("InvalidRequest", f"Value for {header_name(algorithm)} header is invalid.")


def check_format(algorithm: str, value: str) -> None:
    """A checksum value must be the canonical base64 of a digest of the algorithm's size."""
    size = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}[algorithm]
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or base64.b64encode(raw).decode() != value:  # canonical base64 only
        raise invalid_value(algorithm)


def verify(algorithm: str, expected: str, digest: bytes) -> None:
    """Raise BadDigest when the body does not have the declared checksum."""
    check_format(algorithm, expected)
    if encode(digest) != expected:
        raise S3Error(
            "BadDigest",
            f"The {algorithm} you specified did not match the calculated checksum.",
        )
