"""Multipart uploads through boto3: the transfer manager and the low-level calls."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import MiB, S3Cluster, segment_names, upload_parts


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_transfer_manager_round_trip(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    data = os.urandom(12 * MiB + 123)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "big.bin", Config=cfg)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "big.bin", out, Config=cfg)
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(data).digest()
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert (listed["Size"], listed["ETag"]) == (len(data), head["ETag"])
    part2 = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2)
    assert part2["PartsCount"] == 3
    assert part2["Body"].read() == data[5 * MiB : 10 * MiB]
    ranged = s3.get_object(Bucket=bucket, Key="big.bin", Range="bytes=5242870-5242889")
    assert ranged["Body"].read() == data[5242870:5242890]
    attrs = s3.get_object_attributes(Bucket=bucket, Key="big.bin", ObjectAttributes=["ObjectParts"])
    assert [p["Size"] for p in attrs["ObjectParts"]["Parts"]] == [5 * MiB, 5 * MiB, 2 * MiB + 123]
    # Overwriting (no versioning) deletes the old segments.
    s3.put_object(Bucket=bucket, Key="big.bin", Body=b"small now")
    assert segment_names(s3_cluster, bucket) == []


def test_low_level_errors_and_listings(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    big, tail = b"a" * (5 * MiB), b"tail"
    uid, parts = upload_parts(s3, bucket, "k", [big, tail, b"third"])
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)
    assert [p["Size"] for p in listed["Parts"]] == [5 * MiB, 4, 5]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("k", uid)]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": parts}
        )
    assert _code(exc) == "EntityTooSmall"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=uid,
            MultipartUpload={"Parts": [parts[0], {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}]},
        )
    assert _code(exc) == "InvalidPart"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": parts[1::-1]}
        )
    assert _code(exc) == "InvalidPartOrder"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": parts[:2]}
    )
    md5s = b"".join(hashlib.md5(p).digest() for p in (big, tail))
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == big + tail
    assert len(segment_names(s3_cluster, bucket)) == 2  # the unused third part is gone
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)
    assert _code(exc) == "NoSuchUpload"


def test_abort_leaves_nothing(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    uid, _parts = upload_parts(s3, bucket, "gone", [b"x" * 1000, b"y"])
    assert len(segment_names(s3_cluster, bucket)) == 3  # record + two parts
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=uid)
    assert segment_names(s3_cluster, bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as exc:
        s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=uid)
    assert _code(exc) == "NoSuchUpload"


def test_upload_part_copy_and_copy_of_multipart(s3: Any, bucket: str) -> None:
    src = os.urandom(6 * MiB)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    p1 = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes=0-{5 * MiB - 1}",
    )["CopyPartResult"]["ETag"]
    p2 = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes={5 * MiB}-{6 * MiB - 1}",
    )["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]},
    )
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == src
    s3.copy_object(Bucket=bucket, Key="flat", CopySource={"Bucket": bucket, "Key": "dst"})
    s3.delete_object(Bucket=bucket, Key="dst")
    flat = s3.get_object(Bucket=bucket, Key="flat")
    assert flat["Body"].read() == src
    assert "-" not in flat["ETag"]
