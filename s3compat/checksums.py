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
DEFAULT = "CRC64NVME"  # what S3 gives an object uploaded without a checksum


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


def trailer_names(value: str | None) -> list[str]:
    """The headers an x-amz-trailer names, as AWS reads the list: blanks around the whole
    and trailing commas forgiven, an empty item in between is not (it names nothing)."""
    value = (value or "").strip()
    if not value:
        return []
    return [item.strip().lower() for item in value.rstrip(",").split(",")]


def trailer_name(value: str | None) -> str | None:
    """The one header an x-amz-trailer names (None: none)."""
    names = trailer_names(value)
    return names[0] if names else None


def _error(message: str) -> S3Error:
    """InvalidRequest about the checksum headers: AWS names no <Resource> in these."""
    return S3Error("InvalidRequest", message, resource=False)


_MULTIPLE = "Expecting a single x-amz-checksum- header"


def declared(headers: Mapping[str, str]) -> tuple[str, str | None] | None:
    """Which checksum a request declares: (algorithm, value or None if trailing).

    Looks at ``x-amz-checksum-*`` headers and at ``x-amz-trailer`` (the value
    arrives after the body); one checksum in all, and
    ``x-amz-sdk-checksum-algorithm`` must agree with it and is not enough on
    its own. The checks run in AWS's order (names, counts, value, SDK header),
    so each mistake gets AWS's own message. ``headers`` must have lower-case names.
    """
    names = {header_name(a): a for a in ALGORITHMS}
    for name in headers:
        if name.startswith("x-amz-checksum-") and name not in names and name not in NOT_VALUES:
            raise _error(
                "The algorithm type you specified in x-amz-checksum- header is invalid.",
            )
    found = [(a, headers[h]) for h, a in names.items() if h in headers]
    if len(found) > 1:
        raise _error(f"{_MULTIPLE}. Multiple checksum Types are not allowed.")
    trailing = trailer_names(headers.get("x-amz-trailer"))
    if any(t not in names for t in trailing):
        raise _error("The value specified in the x-amz-trailer header is not supported")
    if len(trailing) > 1:
        raise _error(f"{_MULTIPLE}. Multiple checksum Types are not allowed.")
    if found and trailing:
        raise _error(_MULTIPLE)  # (AWS's shorter message for this one)
    sdk = headers.get("x-amz-sdk-checksum-algorithm")
    sdk_alg = sdk.upper() if sdk else None
    if found:
        algorithm, value = found[0]
        check_format(algorithm, value)
        value_or_none: str | None = value
    elif trailing:
        algorithm, value_or_none = names[trailing[0]], None
    elif sdk_alg is not None:
        raise _error(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
            "x-amz-trailer headers were found.",
        )
    else:
        return None
    if sdk_alg is not None and sdk_alg != algorithm:
        raise _error("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    return algorithm, value_or_none


def invalid_value(algorithm: str, *, trailing: bool = False) -> S3Error:
    where = "trailing header" if trailing else "header"
    return _error(f"Value for {header_name(algorithm)} {where} is invalid.")


def check_format(algorithm: str, value: str, *, trailing: bool = False) -> None:
    """A checksum value must be the canonical base64 of a digest of the algorithm's size
    (``trailing``: it came in a trailer, and AWS's message says so)."""
    size = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}[algorithm]
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or base64.b64encode(raw).decode() != value:  # canonical base64 only
        raise invalid_value(algorithm, trailing=trailing)


def verify(algorithm: str, expected: str, digest: bytes, *, trailing: bool = False) -> None:
    """Raise BadDigest when the body does not have the declared checksum."""
    check_format(algorithm, expected, trailing=trailing)
    if encode(digest) != expected:
        raise S3Error(
            "BadDigest",
            f"The {algorithm} you specified did not match the calculated checksum.",
        )
