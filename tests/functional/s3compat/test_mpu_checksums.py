"""Checksums of multipart uploads through boto3, against a real cluster on loopback.

FULL_OBJECT and COMPOSITE uploads (which algorithm allows which type),
part checksums on UploadPart, UploadPartCopy and ListParts, the checks
CompleteMultipartUpload makes (per part, then the whole object), what
GetObject and HeadObject answer with ``ChecksumMode=ENABLED`` (whole, range,
part), GetObjectAttributes, and the SSE-C key echoed by Complete. The
expected messages are AWS's (the values for ``123456789`` are AWS's too).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from typing import Any

import pytest
from awscrt import checksums as crt
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import MiB, S3Cluster

BODY = b"123456789"
CRC32 = "y/Q5Jg=="  # of BODY, as AWS answers
CRC32C = "4waSgw=="
CRC32C_COMPOSITE_1 = "pzJFoA=="  # CRC32C of CRC32C's four bytes: a one-part composite
SHA1 = "98O8HYCOBHMq32eZZczDTKeuNEE="
CRC64NVME = "rosUhgp5mIg="
INVALID_PART = (
    "One or more of the specified parts could not be found.  The part may not have been "
    "uploaded, or the specified entity tag may not match the part's entity tag."
)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32c(data: bytes) -> str:
    return b64(crt.crc32c(data).to_bytes(4, "big"))


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    """The error's fields, less the Resource every answer names."""
    return {k: v for k, v in exc.value.response["Error"].items() if k != "Resource"}


@pytest.fixture
def bare(s3_cluster: S3Cluster) -> Any:
    """A client that sends a checksum only when one is asked for (boto3 adds CRC32 otherwise)."""
    return s3_cluster.client("alice", request_checksum_calculation="when_required")


def _create(s3: Any, bucket: str, key: str, **kw: Any) -> str:
    return s3.create_multipart_upload(Bucket=bucket, Key=key, **kw)["UploadId"]


@pytest.mark.parametrize(
    ("algorithm", "kind", "want"),
    [
        ("CRC32", None, "COMPOSITE"),
        ("CRC32C", "FULL_OBJECT", "FULL_OBJECT"),
        ("CRC64NVME", None, "FULL_OBJECT"),
        ("SHA1", None, "COMPOSITE"),
        ("SHA256", "COMPOSITE", "COMPOSITE"),
    ],
)
def test_create_names_the_type(
    s3: Any, bucket: str, algorithm: str, kind: str | None, want: str
) -> None:
    extra = {"ChecksumType": kind} if kind else {}
    up = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm=algorithm, **extra)
    assert (up["ChecksumAlgorithm"], up["ChecksumType"]) == (algorithm, want)
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=up["UploadId"])
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == (algorithm, want)
    s3.create_multipart_upload(Bucket=bucket, Key="plain")
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u.get("ChecksumAlgorithm"), u.get("ChecksumType")) for u in uploads] == [
        ("k", algorithm, want),
        ("plain", None, None),
    ]


@pytest.mark.parametrize(
    ("algorithm", "kind", "message"),
    [
        ("SHA1", "FULL_OBJECT", "The FULL_OBJECT checksum type cannot be used with the sha1 "
         "checksum algorithm."),
        ("SHA256", "FULL_OBJECT", "The FULL_OBJECT checksum type cannot be used with the sha256 "
         "checksum algorithm."),
        ("CRC64NVME", "COMPOSITE", "The COMPOSITE checksum type cannot be used with the "
         "crc64nvme checksum algorithm."),
        (None, "FULL_OBJECT", "The x-amz-checksum-type header can only be used with the "
         "x-amz-checksum-algorithm header."),
        ("CRC32", "TEST", "Value for x-amz-checksum-type header is invalid."),
        ("nope", None, "Checksum algorithm provided is unsupported. Please try again with any "
         "of the valid types: [CRC32, CRC32C, SHA1, SHA256]"),
        ("CRC32,CRC32C", None, "Invalid types are specified in x-amz-checksum-algorithm header."),
    ],
)  # fmt: skip
def test_create_refuses_what_aws_refuses(
    s3: Any, bucket: str, algorithm: str | None, kind: str | None, message: str
) -> None:
    extra: dict[str, str] = {}
    if algorithm:
        extra["ChecksumAlgorithm"] = algorithm
    if kind:
        extra["ChecksumType"] = kind
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(Bucket=bucket, Key="k", **extra)
    assert (error(exc)["Code"], error(exc)["Message"]) == ("InvalidRequest", message)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_upload_part_checks_the_upload_algorithm(s3: Any, bare: Any, bucket: str) -> None:
    uid = _create(s3, bucket, "k", ChecksumAlgorithm="CRC32C")
    part = {"Bucket": bucket, "Key": "k", "UploadId": uid, "PartNumber": 1, "Body": BODY}
    cases = [
        (s3, {"ChecksumCRC32": CRC32}, "InvalidRequest",
         "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum "
         "Type: crc32"),
        (bare, {}, "InvalidRequest",
         "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum "
         "Type: null"),
        (s3, {"ChecksumCRC32C": "5waSgw=="}, "BadDigest",
         "The CRC32C you specified did not match the calculated checksum."),
        (s3, {"ChecksumCRC32C": "4waSgx=="}, "InvalidRequest",
         "Value for x-amz-checksum-crc32c header is invalid."),
        (s3, {"ChecksumCRC32C": CRC32C, "ChecksumAlgorithm": "SHA1"}, "InvalidRequest",
         "Value for x-amz-sdk-checksum-algorithm header is invalid."),
    ]  # fmt: skip
    for client, extra, code, message in cases:
        with pytest.raises(ClientError) as exc:
            client.upload_part(**part, **extra)
        assert (error(exc)["Code"], error(exc)["Message"]) == (code, message), extra
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=uid).get("Parts", []) == []
    done = s3.upload_part(**part, ChecksumCRC32C=CRC32C)
    assert done["ChecksumCRC32C"] == CRC32C


def test_a_full_object_part_without_checksum_gets_one(bare: Any, bucket: str) -> None:
    """AWS sums a FULL_OBJECT upload's part itself when the client sent no checksum."""
    uid = _create(bare, bucket, "k", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    done = bare.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=BODY)
    assert done["ChecksumCRC32"] == CRC32
    parts = bare.list_parts(Bucket=bucket, Key="k", UploadId=uid)["Parts"]
    assert parts[0]["ChecksumCRC32"] == CRC32
    # Complete may leave the parts' checksums out for FULL_OBJECT (not for COMPOSITE).
    got = bare.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": done["ETag"]}]},
    )  # fmt: skip
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (CRC32, "FULL_OBJECT")


def test_list_parts_shows_each_part_checksum(s3: Any, bucket: str) -> None:
    uid = _create(s3, bucket, "k", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
    etags = {}
    for n in (2, 10):
        etags[n] = s3.upload_part(
            Bucket=bucket, Key="k", UploadId=uid, PartNumber=n, Body=BODY,
            ChecksumCRC32C=CRC32C,
        )["ETag"]  # fmt: skip
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)
    assert [{k: v for k, v in p.items() if k != "LastModified"} for p in listed["Parts"]] == [
        {"PartNumber": n, "ETag": etags[n], "Size": len(BODY), "ChecksumCRC32C": CRC32C}
        for n in (2, 10)
    ]
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC32C", "FULL_OBJECT")


def _two_parts(s3: Any, bucket: str, key: str, kind: str) -> tuple[str, list[dict[str, Any]]]:
    uid = _create(s3, bucket, key, ChecksumAlgorithm="CRC32C", ChecksumType=kind)
    parts = []
    for n, data in ((1, PART1), (2, PART2)):
        done = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data,
            ChecksumAlgorithm="CRC32C",
        )  # fmt: skip
        assert done["ChecksumCRC32C"] == crc32c(data)
        parts.append({"PartNumber": n, "ETag": done["ETag"], "ChecksumCRC32C": crc32c(data)})
    return uid, parts


PART1 = os.urandom(5 * MiB)
PART2 = b"the last part " * 100


def test_composite_object_and_its_parts(s3: Any, bucket: str) -> None:
    uid, parts = _two_parts(s3, bucket, "c", "COMPOSITE")
    raw = base64.b64decode(crc32c(PART1)) + base64.b64decode(crc32c(PART2))
    composite = crc32c(raw) + "-2"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="c", UploadId=uid, MultipartUpload={"Parts": parts},
        ChecksumCRC32C=composite,
    )  # fmt: skip
    assert (done["ChecksumCRC32C"], done["ChecksumType"]) == (composite, "COMPOSITE")
    plain = s3.head_object(Bucket=bucket, Key="c")
    assert "ChecksumCRC32C" not in plain and "ChecksumType" not in plain  # only when asked
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32C"], head["ChecksumType"]) == (composite, "COMPOSITE")
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["Body"].read() == PART1 + PART2
    # A part comes with its own checksum, which botocore checks against the bytes it reads.
    for n, data in ((1, PART1), (2, PART2)):
        part = s3.get_object(Bucket=bucket, Key="c", PartNumber=n, ChecksumMode="ENABLED")
        assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert (part["ChecksumCRC32C"], part["ChecksumType"]) == (crc32c(data), "COMPOSITE")
        assert part["Body"].read() == data
        assert part["ResponseMetadata"]["HTTPHeaders"]["x-amz-mp-parts-count"] == "2"
        head = s3.head_object(Bucket=bucket, Key="c", PartNumber=n, ChecksumMode="ENABLED")
        assert head["ChecksumCRC32C"] == crc32c(data)
    quiet = s3.head_object(Bucket=bucket, Key="c", PartNumber=1)
    assert "ChecksumCRC32C" not in quiet
    for number in (1, 0):  # a part and a range: refused, before the part number is judged
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket=bucket, Key="c", PartNumber=number, Range="bytes=1-2")
        assert error(exc) == {
            "Code": "InvalidRequest",
            "Message": "Cannot specify both Range header and partNumber query parameter",
        }
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="c", ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"]
    )
    # AWS's attributes name the checksum of checksums without its "-2".
    assert attrs["Checksum"] == {"ChecksumCRC32C": crc32c(raw), "ChecksumType": "COMPOSITE"}
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32C"]) for p in
            attrs["ObjectParts"]["Parts"]] == [
        (1, len(PART1), crc32c(PART1)), (2, len(PART2), crc32c(PART2))
    ]  # fmt: skip


def test_full_object_crc_through_s3transfer(s3: Any, bucket: str) -> None:
    """s3transfer sends the CRC of the whole file: FULL_OBJECT, checked by Complete."""
    data = os.urandom(11 * MiB + 5)
    whole = crc32(data)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    sent: list[dict[str, str]] = []
    s3.meta.events.register(
        "before-send.s3.CompleteMultipartUpload",
        lambda request, **kw: sent.append({k.lower(): v for k, v in request.headers.items()}),
    )
    s3.upload_fileobj(
        io.BytesIO(data), bucket, "big", Config=cfg, ExtraArgs={"ChecksumCRC32": whole}
    )
    assert sent[0]["x-amz-checksum-type"] in ("FULL_OBJECT", b"FULL_OBJECT")
    head = s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    assert head["ETag"].endswith('-3"')
    got = s3.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert got["Body"].read() == data  # botocore checked the CRC while reading
    every = s3.get_object(
        Bucket=bucket, Key="big", Range=f"bytes=0-{len(data) - 1}", ChecksumMode="ENABLED"
    )
    assert every["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert every["ChecksumCRC32"] == whole and every["Body"].read() == data
    some = s3.get_object(Bucket=bucket, Key="big", Range="bytes=1-100", ChecksumMode="ENABLED")
    assert "ChecksumCRC32" not in some and "ChecksumType" not in some
    assert some["Body"].read() == data[1:101]
    # A wrong whole-object CRC: BadDigest, and no object.
    with pytest.raises(ClientError) as exc:
        s3.upload_fileobj(
            io.BytesIO(data), bucket, "bad", Config=cfg,
            ExtraArgs={"ChecksumCRC32": crc32(data + b"x")},
        )  # fmt: skip
    assert (error(exc)["Code"], error(exc)["Message"]) == (
        "BadDigest",
        "The crc32 you specified did not match the calculated checksum.",
    )


def test_crc64nvme_full_object(s3: Any, bucket: str) -> None:
    uid = _create(s3, bucket, "n", ChecksumAlgorithm="CRC64NVME")
    parts = []
    for n, data in ((1, PART1), (2, BODY)):
        done = s3.upload_part(
            Bucket=bucket, Key="n", UploadId=uid, PartNumber=n, Body=data,
            ChecksumAlgorithm="CRC64NVME",
        )  # fmt: skip
        parts.append({"PartNumber": n, "ETag": done["ETag"]})
    whole = b64(crt.crc64nvme(PART1 + BODY).to_bytes(8, "big"))
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="n", UploadId=uid, MultipartUpload={"Parts": parts},
        ChecksumCRC64NVME=whole, ChecksumType="FULL_OBJECT",
    )  # fmt: skip
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = s3.get_object(Bucket=bucket, Key="n", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == whole and got["Body"].read() == PART1 + BODY
    attrs = s3.get_object_attributes(Bucket=bucket, Key="n", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"] == {"ChecksumCRC64NVME": whole, "ChecksumType": "FULL_OBJECT"}


def _one_part(s3: Any, bucket: str, key: str, **create: Any) -> tuple[str, dict[str, Any]]:
    uid = _create(s3, bucket, key, ChecksumAlgorithm="CRC32C", **create)
    done = s3.upload_part(
        Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=BODY, ChecksumCRC32C=CRC32C
    )
    return uid, {"PartNumber": 1, "ETag": done["ETag"]}


def test_complete_refuses_as_aws(s3: Any, bucket: str) -> None:
    uid, part = _one_part(s3, bucket, "k")
    good = {**part, "ChecksumCRC32C": CRC32C}

    def complete(parts: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": parts}, **kw
            )
        return error(exc)

    etag = part["ETag"].strip('"')
    assert complete([part]) == {
        "Code": "InvalidRequest",
        "Message": "The upload was created using a crc32c checksum. The complete request must "
        "include the checksum for each part. It was missing for part 1 in the request.",
    }
    assert complete([{**part, "ChecksumCRC32C": "4waSgx=="}]) == {
        "Code": "InvalidArgument",
        "Message": "Invalid Base64 or multiple checksums present in request",
        "ArgumentName": "Checksum",
        "ArgumentValue": "CRC32C:4waSgx==;",
    }
    assert complete([{**good, "ChecksumCRC32": CRC32, "ChecksumSHA1": SHA1}]) == {
        "Code": "InvalidArgument",
        "Message": "Invalid Base64 or multiple checksums present in request",
        "ArgumentName": "Checksum",
        "ArgumentValue": f"CRC32:{CRC32};CRC32C:{CRC32C};SHA1:{SHA1};",
    }
    assert complete([{**part, "ChecksumCRC32": CRC32}]) == {
        "Code": "BadDigest",
        "Message": "The crc32 you specified for part 1 did not match what we received.",
    }
    assert complete([{**part, "ChecksumCRC32C": "5waSgw=="}]) == {
        "Code": "InvalidPart",
        "Message": INVALID_PART,
        "UploadId": uid,
        "PartNumber": "1",
        "ETag": etag,
    }
    # COMPOSITE: the whole is computed from the listed sums and checked first.
    assert (
        complete([{**part, "ChecksumCRC32C": "5waSgw=="}], ChecksumCRC32C=CRC32C_COMPOSITE_1)[
            "Code"
        ]
        == "BadDigest"
    )
    bad_digest = {
        "Code": "BadDigest",
        "Message": "The crc32c you specified did not match the calculated checksum.",
    }
    assert complete([good], ChecksumCRC32C=CRC32C) == bad_digest
    assert complete([good], ChecksumCRC32C=CRC32C_COMPOSITE_1 + "-2") == bad_digest
    assert complete([good], ChecksumCRC32C=CRC32C_COMPOSITE_1 + "-a") == {
        "Code": "InvalidRequest",
        "Message": "Value for x-amz-checksum-crc32c header is invalid.",
    }
    assert complete([good], ChecksumType="FULL_OBJECT") == {
        "Code": "InvalidRequest",
        "Message": "The upload was created using the COMPOSITE checksum mode. The complete "
        "request must use the same checksum mode.",
    }
    assert complete([good], MpuObjectSize=10) == {
        "Code": "InvalidRequest",
        "Message": "The provided 'x-amz-mp-object-size' header value 10 does not match what "
        "was computed: 9",
    }
    # Every refusal left the upload open: the right request completes it.
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": [good]},
        ChecksumCRC32C=CRC32C_COMPOSITE_1, ChecksumType="COMPOSITE", MpuObjectSize=9,
    )  # fmt: skip
    assert done["ChecksumCRC32C"] == CRC32C_COMPOSITE_1 + "-1"
    head = s3.head_object(Bucket=bucket, Key="k", PartNumber=1, ChecksumMode="ENABLED")
    assert head["ChecksumCRC32C"] == CRC32C  # a one-part composite's part: its own sum


def test_full_object_checks_parts_before_the_whole(s3: Any, bucket: str) -> None:
    uid, part = _one_part(s3, bucket, "k", ChecksumType="FULL_OBJECT")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid,
            MultipartUpload={"Parts": [{**part, "ChecksumCRC32C": "5waSgw=="}]},
            ChecksumCRC32C=CRC32C,
        )  # fmt: skip
    assert error(exc)["Code"] == "InvalidPart"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": [part]},
            ChecksumCRC32C="5waSgw==",
        )  # fmt: skip
    assert (
        error(exc)["Message"] == "The crc32c you specified did not match the calculated checksum."
    )
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": [part]},
            ChecksumSHA1=SHA1,
        )  # fmt: skip
    assert error(exc)["Message"] == (
        "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum "
        "Type: sha1"
    )
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": [part]},
        ChecksumCRC32C=CRC32C,
    )  # fmt: skip
    assert (done["ChecksumCRC32C"], done["ChecksumType"]) == (CRC32C, "FULL_OBJECT")


def test_an_upload_without_algorithm(bare: Any, s3: Any, bucket: str) -> None:
    """No checksum was asked for: a listed part sum must match what the part stored, and the
    object gets no checksum (a whole-object header is not checked)."""
    uid = _create(bare, bucket, "k")
    done = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=BODY,
                          ChecksumCRC32=CRC32)  # fmt: skip
    part = {"PartNumber": 1, "ETag": done["ETag"]}
    with pytest.raises(ClientError) as exc:
        bare.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid,
            MultipartUpload={"Parts": [{**part, "ChecksumCRC32C": CRC32C}]},
        )  # fmt: skip
    assert error(exc)["Code"] == "InvalidPart"
    got = bare.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=uid,
        MultipartUpload={"Parts": [{**part, "ChecksumCRC32": CRC32}]},
    )  # fmt: skip
    assert not [k for k in got if k.startswith("Checksum")]
    head = bare.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert not [k for k in head if k.startswith("Checksum")]


def test_upload_part_copy_sums_with_the_upload_algorithm(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=BODY * 3, ChecksumAlgorithm="SHA256")
    uid = _create(s3, bucket, "dst", ChecksumAlgorithm="CRC32C")
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=0-8",
    )["CopyPartResult"]  # fmt: skip
    assert copied["ChecksumCRC32C"] == CRC32C
    assert s3.list_parts(Bucket=bucket, Key="dst", UploadId=uid)["Parts"][0]["ChecksumCRC32C"] == (
        CRC32C
    )
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=uid,
        MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": copied["ETag"], "ChecksumCRC32C": copied["ChecksumCRC32C"]}
        ]},
    )  # fmt: skip
    assert done["ChecksumCRC32C"] == CRC32C_COMPOSITE_1 + "-1"


def test_checksum_mode_values(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumCRC32=CRC32)
    assert (put["ChecksumCRC32"], put["ChecksumType"]) == (CRC32, "FULL_OBJECT")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", ChecksumMode="INVALID")
    assert error(exc) == {
        "Code": "InvalidRequest",
        "Message": "Value for x-amz-checksum-mode header is invalid.",
    }
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k", ChecksumMode="INVALID")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (CRC32, "FULL_OBJECT")
    etag = head["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag, ChecksumMode="ENABLED")
    headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amz-checksum-crc32" not in headers and "x-amz-checksum-type" not in headers


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_ssec_complete_echoes_the_key(s3_cluster: S3Cluster, bucket_name: str) -> None:
    tls = s3_cluster.client("alice", tls=True)
    tls.create_bucket(Bucket=bucket_name)
    key, other = os.urandom(32), os.urandom(32)
    ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    uid = tls.create_multipart_upload(Bucket=bucket_name, Key="k", **ssec)["UploadId"]
    done = tls.upload_part(
        Bucket=bucket_name, Key="k", UploadId=uid, PartNumber=1, Body=BODY, **ssec
    )
    parts = {"Parts": [{"PartNumber": 1, "ETag": done["ETag"]}]}
    with pytest.raises(ClientError) as exc:
        tls.complete_multipart_upload(
            Bucket=bucket_name, Key="k", UploadId=uid, MultipartUpload=parts,
            SSECustomerAlgorithm="AES256", SSECustomerKey=other,
        )  # fmt: skip
    assert error(exc)["Message"] == (
        "The provided encryption parameters did not match the ones used originally."
    )
    got = tls.complete_multipart_upload(
        Bucket=bucket_name, Key="k", UploadId=uid, MultipartUpload=parts, **ssec
    )
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    assert headers["x-amz-server-side-encryption-customer-key-md5"] == b64(
        hashlib.md5(key).digest()
    )
    assert tls.get_object(Bucket=bucket_name, Key="k", **ssec)["Body"].read() == BODY
