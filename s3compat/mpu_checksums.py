"""Checksums of multipart uploads: the type an upload asks for, its parts' sums, the whole.

An upload created with ``x-amz-checksum-algorithm`` keeps one algorithm and
one type for all its parts (AWS's rules, error for error):

- FULL_OBJECT (CRC32, CRC32C, CRC64NVME): the object's checksum is the CRC of
  all its bytes, combined from the parts' CRCs without reading them again; a
  part sent without a checksum gets one computed by the server, and
  CompleteMultipartUpload may leave the parts' checksums out;
- COMPOSITE (CRC32, CRC32C, SHA1, SHA256): the checksum of the parts'
  checksums followed by ``-<part count>``; every part must carry its
  checksum, and so must every part listed by CompleteMultipartUpload.

Without a type the default is FULL_OBJECT for CRC64NVME (it has no other) and
COMPOSITE for the rest, as on AWS. Complete checks the parts it lists against
what each UploadPart stored (InvalidPart), then the whole-object
``x-amz-checksum-*`` header against the computed value (BadDigest); a malformed
value is InvalidRequest or InvalidArgument, as AWS chooses.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from s3compat import checksums
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"
TYPES = (COMPOSITE, FULL_OBJECT)
#: Which checksum types each algorithm allows on a multipart upload (AWS's table).
ALLOWED = {
    "CRC32": (COMPOSITE, FULL_OBJECT),
    "CRC32C": (COMPOSITE, FULL_OBJECT),
    "CRC64NVME": (FULL_OBJECT,),
    "SHA1": (COMPOSITE,),
    "SHA256": (COMPOSITE,),
}
_UNSUPPORTED = (
    "Checksum algorithm provided is unsupported. Please try again with any of the valid "
    "types: [CRC32, CRC32C, SHA1, SHA256]"
)
_BAD_PART_SUMS = "Invalid Base64 or multiple checksums present in request"


@dataclass(frozen=True)
class UploadChecksum:
    """The checksum an upload was created with."""

    algorithm: str
    kind: str


def default_kind(algorithm: str) -> str:
    return FULL_OBJECT if algorithm == "CRC64NVME" else COMPOSITE


def _bad_type() -> S3Error:
    return S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")


def for_create(headers: Mapping[str, str]) -> UploadChecksum | None:
    """CreateMultipartUpload's ``x-amz-checksum-algorithm`` and ``-type``, judged as AWS."""
    raw_algorithm = (headers.get("x-amz-checksum-algorithm") or "").strip()
    raw_kind = (headers.get("x-amz-checksum-type") or "").strip()
    if not raw_algorithm:
        if raw_kind:
            raise S3Error(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
        return None
    if "," in raw_algorithm:
        raise S3Error(
            "InvalidRequest", "Invalid types are specified in x-amz-checksum-algorithm header."
        )
    algorithm = raw_algorithm.upper()
    if algorithm not in ALLOWED:
        raise S3Error("InvalidRequest", _UNSUPPORTED)
    kind = raw_kind.upper() or default_kind(algorithm)
    if kind not in TYPES:
        raise _bad_type()
    if kind not in ALLOWED[algorithm]:
        raise S3Error(
            "InvalidRequest",
            f"The {kind} checksum type cannot be used with the {algorithm.lower()} "
            "checksum algorithm.",
        )
    return UploadChecksum(algorithm, kind)


def stored(algorithm: str | None, kind: str | None) -> UploadChecksum | None:
    """An upload record's checksum (records older than the type default it as AWS)."""
    if not algorithm:
        return None
    return UploadChecksum(algorithm, kind or default_kind(algorithm))


def mismatch(expected: str, actual: str | None) -> S3Error:
    """A part (or Complete) sent another algorithm than its upload's."""
    got = actual.lower() if actual else "null"
    return S3Error(
        "InvalidRequest",
        f"Checksum Type mismatch occurred, expected checksum Type: {expected.lower()}, "
        f"actual checksum Type: {got}",
    )


def for_part(upload: UploadChecksum | None, sent: str | None) -> str | None:
    """The algorithm an UploadPart's body must be summed with (None: as the request says).

    A part of another algorithm is refused; a part without one is refused by a
    COMPOSITE upload and summed by the server for a FULL_OBJECT one (AWS).
    """
    if upload is None:
        return None
    if sent is None:
        if upload.kind == COMPOSITE:
            raise mismatch(upload.algorithm, None)
        return upload.algorithm
    if sent != upload.algorithm:
        raise mismatch(upload.algorithm, sent)
    return None


def part_sums(number: int, sums: dict[str, str]) -> tuple[str, str] | None:
    """The one checksum a Complete lists for a part, its base64 checked (InvalidArgument)."""
    if not sums:
        return None
    ok = len(sums) == 1
    for algorithm, value in sums.items():
        ok = ok and _canonical(algorithm, value)
    if not ok:
        listed = "".join(f"{a}:{v};" for a, v in sums.items())
        raise S3Error(
            "InvalidArgument",
            _BAD_PART_SUMS,
            extra={"ArgumentName": "Checksum", "ArgumentValue": listed},
        )
    return next(iter(sums.items()))


def _canonical(algorithm: str, value: str) -> bool:
    try:
        checksums.check_format(algorithm, value)
    except S3Error:
        return False
    return True


def missing_part(upload: UploadChecksum, number: int) -> S3Error:
    return S3Error(
        "InvalidRequest",
        f"The upload was created using a {upload.algorithm.lower()} checksum. The complete "
        "request must include the checksum for each part. It was missing for part "
        f"{number} in the request.",
    )


def other_part_algorithm(algorithm: str, number: int) -> S3Error:
    return S3Error(
        "BadDigest",
        f"The {algorithm.lower()} you specified for part {number} did not match what we received.",
    )


@dataclass(frozen=True)
class Whole:
    """The whole-object checksum a Complete request states in ``x-amz-checksum-*``."""

    algorithm: str
    value: str  # base64, without a "-N" suffix
    parts: int | None  # the "-N" suffix, when given


def whole_from_headers(headers: Mapping[str, str]) -> Whole | None:
    """The Complete request's ``x-amz-checksum-<algorithm>`` (a COMPOSITE value may end ``-N``)."""
    names = {checksums.header_name(a): a for a in checksums.ALGORITHMS}
    found: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not name.startswith("x-amz-checksum-") or name in checksums.NOT_VALUES:
            continue
        if name not in names:
            raise S3Error(
                "InvalidRequest",
                "The algorithm type you specified in x-amz-checksum- header is invalid.",
            )
        found.append((names[name], value))
    if not found:
        return None
    if len(found) > 1:
        raise S3Error(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    algorithm, raw = found[0]
    value, dash, suffix = raw.partition("-")
    count = ascii_uint(suffix) if dash else None
    if dash and (count is None or count < 1):
        raise checksums.invalid_value(algorithm)
    checksums.check_format(algorithm, value)
    return Whole(algorithm, value, count)


def check_kind(upload: UploadChecksum | None, headers: Mapping[str, str]) -> None:
    """Complete's ``x-amz-checksum-type`` must name the upload's type."""
    raw = headers.get("x-amz-checksum-type")
    if raw is None:
        return
    kind = raw.strip().upper()
    if kind not in TYPES:
        raise _bad_type()
    if upload is not None and kind != upload.kind:
        raise S3Error(
            "InvalidRequest",
            f"The upload was created using the {upload.kind} checksum mode. The complete "
            "request must use the same checksum mode.",
        )


def check_whole(upload: UploadChecksum, whole: Whole | None, computed: str) -> None:
    """The stated whole-object checksum against the computed ``value[-N]`` (BadDigest)."""
    if whole is None:
        return
    if whole.algorithm != upload.algorithm:
        raise mismatch(upload.algorithm, whole.algorithm)
    value, _, suffix = computed.partition("-")
    if whole.value != value or (whole.parts is not None and str(whole.parts) != suffix):
        raise S3Error(
            "BadDigest",
            f"The {upload.algorithm.lower()} you specified did not match the calculated checksum.",
        )


def check_object_size(headers: Mapping[str, str], total: int) -> None:
    """``x-amz-mp-object-size``: the size the client expects the object to have."""
    raw = headers.get("x-amz-mp-object-size")
    if raw is None:
        return
    text = raw.strip()
    size = ascii_uint(text.lstrip("-")) if text.startswith("-") else ascii_uint(text)
    if size is None:
        raise S3Error(
            "InvalidRequest", f"Value for x-amz-mp-object-size header is invalid: '{raw}'"
        )
    if text.startswith("-") and size > 0:
        raise S3Error(
            "InvalidRequest", f"Value for x-amz-mp-object-size header is less than zero: '{raw}'"
        )
    if size != total:
        raise S3Error(
            "InvalidRequest",
            f"The provided 'x-amz-mp-object-size' header value {text} does not match what was "
            f"computed: {total}",
        )


def decode(value: str) -> bytes:
    """A stored part checksum's bytes (ValueError when it is not base64)."""
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from exc
