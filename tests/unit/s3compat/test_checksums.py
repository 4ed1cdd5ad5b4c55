from __future__ import annotations

import base64
import hashlib
import zlib

import pytest

from s3compat import checksums
from s3compat.errors import S3Error


def test_known_values() -> None:
    # CRC32C("123456789") = 0xE3069283 and CRC64NVME("123456789") = 0xAE8B14860A799888
    # are the standard check values of the two polynomials.
    assert (
        checksums.compute("CRC32C", b"123456789")
        == base64.b64encode(bytes.fromhex("e3069283")).decode()
    )
    assert (
        checksums.compute("CRC64NVME", b"123456789")
        == base64.b64encode(bytes.fromhex("ae8b14860a799888")).decode()
    )
    assert (
        checksums.compute("CRC32", b"abc")
        == base64.b64encode(zlib.crc32(b"abc").to_bytes(4, "big")).decode()
    )
    assert checksums.compute("SHA256", b"") == base64.b64encode(hashlib.sha256().digest()).decode()


def test_incremental_equals_whole() -> None:
    for algo in checksums.ALGORITHMS:
        h = checksums.new(algo)
        for part in (b"hello ", memoryview(b"wor"), b"ld"):
            h.update(part)
        assert checksums.encode(h.digest()) == checksums.compute(algo, b"hello world")


def test_declared() -> None:
    crc = checksums.compute("CRC32", b"x")
    assert checksums.declared({"x-amz-checksum-crc32": crc}) == ("CRC32", crc)
    assert checksums.declared({"x-amz-trailer": "x-amz-checksum-sha1"}) == ("SHA1", None)
    assert checksums.declared({}) is None
    with pytest.raises(S3Error):
        checksums.declared({"x-amz-checksum-crc32": "not base64!"})
    with pytest.raises(S3Error):
        checksums.declared({"x-amz-checksum-crc32": crc, "x-amz-checksum-sha1": crc})


def test_verify() -> None:
    h = checksums.new("SHA1")
    h.update(b"data")
    checksums.verify("SHA1", checksums.compute("SHA1", b"data"), h.digest())
    with pytest.raises(S3Error) as exc:
        checksums.verify("SHA1", checksums.compute("SHA1", b"other"), h.digest())
    assert exc.value.code == "BadDigest"


def test_declared_refuses_what_aws_refuses() -> None:
    crc = checksums.compute("CRC32", b"x")
    cases = {
        "algorithm type": {"x-amz-checksum-bad": crc},
        "x-amz-sdk-checksum-algorithm header is invalid": {
            "x-amz-sdk-checksum-algorithm": "CRC32C",
            "x-amz-checksum-crc32": crc,
        },
        "no corresponding": {"x-amz-sdk-checksum-algorithm": "CRC32"},
        "x-amz-checksum-crc32 header is invalid": {"x-amz-checksum-crc32": "y/Q5Jh=="},
        "x-amz-trailer header is not supported": {"x-amz-trailer": "x-amz-checksum-md5"},
    }
    for message, headers in cases.items():
        with pytest.raises(S3Error, match=message) as exc:
            checksums.declared(headers)
        assert exc.value.code == "InvalidRequest"
    assert checksums.declared({"x-amz-trailer": " x-amz-checksum-crc32, "}) == ("CRC32", None)
    assert checksums.declared({"x-amz-checksum-mode": "ENABLED"}) is None


def test_trailer_lists_and_counts_as_aws() -> None:
    """x-amz-trailer forgives blanks and trailing commas, not an empty item; one checksum in
    headers and trailer together, each count with AWS's own message."""
    assert checksums.trailer_names(" x-amz-checksum-crc32,, ") == ["x-amz-checksum-crc32"]
    assert checksums.trailer_names("x-amz-checksum-crc32, ,") == ["x-amz-checksum-crc32", ""]
    assert checksums.trailer_names(", X-Amz-Checksum-Crc32") == ["", "x-amz-checksum-crc32"]
    crc = checksums.compute("CRC32", b"x")
    cases = {
        "Multiple checksum Types are not allowed.": {
            "x-amz-trailer": "x-amz-checksum-crc32, x-amz-checksum-crc32",
            "x-amz-checksum-crc32": crc,
            "x-amz-sdk-checksum-algorithm": "sha256",  # repeats trump the mismatch
        },
        "Expecting a single x-amz-checksum- header$": {
            "x-amz-trailer": "x-amz-checksum-crc32c",
            "x-amz-checksum-crc32": crc,
        },
        "x-amz-trailer header is not supported": {"x-amz-trailer": ",x-amz-checksum-crc32"},
    }
    for message, headers in cases.items():
        with pytest.raises(S3Error, match=message) as exc:
            checksums.declared(headers)
        assert not exc.value.resource  # AWS names no <Resource> in these
    with pytest.raises(S3Error, match="trailing header is invalid"):
        checksums.verify("CRC32", "not-base-64", b"\0\0\0\0", trailing=True)
