"""The multipart checksum rules on their own: types, part sums, the whole-object header."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from s3compat import mpu_checksums as m
from s3compat.errors import S3Error

CRC32C = "4waSgw=="


def _refused(fn: Callable[..., object], *args: object) -> S3Error:
    with pytest.raises(S3Error) as exc:
        fn(*args)
    return exc.value


def test_create_defaults_and_table() -> None:
    assert m.for_create({}) is None
    assert m.for_create({"x-amz-checksum-algorithm": "crc64nvme"}) == m.UploadChecksum(
        "CRC64NVME", "FULL_OBJECT"
    )
    assert m.for_create({"x-amz-checksum-algorithm": "sha1"}) == m.UploadChecksum(
        "SHA1", "COMPOSITE"
    )
    for algorithm, kinds in m.ALLOWED.items():
        for kind in m.TYPES:
            headers = {"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": kind}
            if kind in kinds:
                assert m.for_create(headers) == m.UploadChecksum(algorithm, kind)
            else:
                err = _refused(m.for_create, headers)
                assert err.message == (
                    f"The {kind} checksum type cannot be used with the {algorithm.lower()} "
                    "checksum algorithm."
                )


def test_part_rules() -> None:
    composite = m.UploadChecksum("CRC32C", "COMPOSITE")
    full = m.UploadChecksum("CRC32", "FULL_OBJECT")
    assert m.for_part(None, None) is None
    assert m.for_part(composite, "CRC32C") is None
    assert m.for_part(full, None) == "CRC32"  # the server sums it
    assert _refused(m.for_part, composite, None).message.endswith("actual checksum Type: null")
    assert _refused(m.for_part, full, "SHA1").message == (
        "Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum Type: sha1"
    )


def test_whole_object_header() -> None:
    assert m.whole_from_headers({"x-amz-checksum-type": "COMPOSITE"}) is None
    assert m.whole_from_headers({"x-amz-checksum-crc32c": CRC32C + "-3"}) == m.Whole(
        "CRC32C", CRC32C, 3
    )
    for bad in (CRC32C + "-a", CRC32C + "-0", CRC32C + "-", "4waSgx=="):
        err = _refused(m.whole_from_headers, {"x-amz-checksum-crc32c": bad})
        assert err.message == "Value for x-amz-checksum-crc32c header is invalid."
    upload = m.UploadChecksum("CRC32C", "COMPOSITE")
    m.check_whole(upload, m.Whole("CRC32C", CRC32C, None), CRC32C + "-2")
    m.check_whole(upload, m.Whole("CRC32C", CRC32C, 2), CRC32C + "-2")
    assert _refused(m.check_whole, upload, m.Whole("CRC32C", CRC32C, 1), CRC32C + "-2").code == (
        "BadDigest"
    )


def test_part_sums_and_object_size() -> None:
    assert m.part_sums(1, {}) is None
    assert m.part_sums(1, {"CRC32C": CRC32C}) == ("CRC32C", CRC32C)
    err = _refused(m.part_sums, 1, {"CRC32": "y/Q5Jg==", "CRC32C": CRC32C})
    assert (err.code, err.extra["ArgumentValue"]) == (
        "InvalidArgument",
        f"CRC32:y/Q5Jg==;CRC32C:{CRC32C};",
    )
    m.check_object_size({"x-amz-mp-object-size": "9"}, 9)
    for raw, end in (("x", "invalid: 'x'"), ("-5", "less than zero: '-5'"), ("8", "computed: 9")):
        assert _refused(m.check_object_size, {"x-amz-mp-object-size": raw}, 9).message.endswith(end)
