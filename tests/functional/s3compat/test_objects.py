"""Object operations beyond the basics: ranges, conditions, copy, batch delete,
tagging, attributes, checksums and Content-MD5, through boto3."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import S3Cluster


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_ranges_and_overrides(s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 1000
    s3.put_object(Bucket=bucket, Key="r", Body=data, ContentType="application/x-test")
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=100-199")
    assert got["Body"].read() == data[100:200]
    assert got["ContentRange"] == f"bytes 100-199/{len(data)}"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-10")["Body"].read() == data[-10:]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(data)}-")
    assert _code(exc) == "InvalidRange"
    got = s3.get_object(
        Bucket=bucket,
        Key="r",
        ResponseContentType="text/plain",
        ResponseContentDisposition="attachment; filename=x",
    )
    assert got["ContentType"] == "text/plain"
    assert got["ContentDisposition"] == "attachment; filename=x"
    assert s3.head_object(Bucket=bucket, Key="r")["ContentType"] == "application/x-test"


def test_conditional_reads_and_writes(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"x")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"x"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"nope"')
    assert _status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert _status(exc) == 304
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="c", IfModifiedSince=later)
    assert _status(exc) == 304
    earlier = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=earlier)
    assert _status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="c", Body=b"y", IfNoneMatch="*")
    assert _status(exc) == 412
    s3.put_object(Bucket=bucket, Key="new", Body=b"y", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"x"


def test_copy_directives_and_conditions(s3: Any, bucket: str, bucket_name: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"}, Tagging="t=1")
    other = bucket_name + "-dst"
    s3.create_bucket(Bucket=other)
    s3.copy_object(Bucket=other, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    head = s3.head_object(Bucket=other, Key="copy")
    assert head["Metadata"] == {"a": "1"}
    assert s3.get_object_tagging(Bucket=other, Key="copy")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.copy_object(
        Bucket=bucket,
        Key="src",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/x-new",
    )
    head = s3.head_object(Bucket=bucket, Key="src")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "text/x-new"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert _code(exc) == "InvalidRequest"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=other,
            Key="c2",
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceIfMatch='"wrong"',
        )
    assert _status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=other, Key="c3", CopySource={"Bucket": bucket, "Key": "missing"})
    assert _code(exc) == "NoSuchKey"
    assert s3.get_object(Bucket=other, Key="copy")["Body"].read() == b"payload"


def test_delete_objects(s3: Any, bucket: str) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"1")
    out = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(4)] + [{"Key": "zz"}]}
    )
    assert sorted(d["Key"] for d in out["Deleted"]) == ["k0", "k1", "k2", "k3", "zz"]
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k4"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k4"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_object_and_bucket_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"1", Metadata={"keep": "me"})
    tags = [{"Key": "a", "Value": "1"}, {"Key": "b c", "Value": "d&e"}]
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": tags})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == tags
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    assert s3.head_object(Bucket=bucket, Key="t")["Metadata"] == {"keep": "me"}
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(
            Bucket=bucket,
            Key="t",
            Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]},
        )
    assert _code(exc) == "InvalidTag"
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _code(exc) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "t"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "t"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)


def test_checksums_stored_and_returned(s3: Any, bucket: str) -> None:
    data = b"checksummed body" * 100
    for algorithm in ("CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"):
        key = f"sum-{algorithm}"
        put = s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm)
        assert put[f"Checksum{algorithm}"]
        got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
        assert got["Body"].read() == data
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert (
        s3.head_object(Bucket=bucket, Key="sum-CRC32", ChecksumMode="ENABLED")["ChecksumCRC32"]
        == crc
    )
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="sum-CRC32", ObjectAttributes=["ETag", "Checksum", "ObjectSize"]
    )
    assert attrs["ObjectSize"] == len(data)
    assert attrs["Checksum"]["ChecksumCRC32"] == crc
    assert attrs["ETag"] == hashlib.md5(data).hexdigest()


def test_bad_digests_store_nothing(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"data", ContentMD5=wrong_md5)
    assert _code(exc) == "BadDigest"
    wrong_crc = base64.b64encode(b"\x00\x00\x00\x01").decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="crc", Body=b"data", ChecksumCRC32=wrong_crc)
    assert _code(exc) == "BadDigest"
    for key in ("md5", "crc"):
        with pytest.raises(ClientError) as exc:
            s3.head_object(Bucket=bucket, Key=key)
        assert _status(exc) == 404


def test_storage_class_and_metadata(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="sc", Body=b"1", StorageClass="STANDARD_IA")
    assert s3.head_object(Bucket=bucket, Key="sc")["StorageClass"] == "STANDARD_IA"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="sc2", Body=b"1", StorageClass="BOGUS")
    assert _code(exc) == "InvalidStorageClass"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="big", Body=b"1", Metadata={"m": "x" * 3000})
    assert _code(exc) == "MetadataTooLarge"


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_default_client_streams_with_trailers(s3_cluster: S3Cluster, bucket: str) -> None:
    """Over HTTPS boto3's defaults send aws-chunked bodies with a trailing CRC32."""
    s3 = s3_cluster.client(tls=True)
    events: list[dict[str, str]] = []
    s3.meta.events.register(
        "before-send.s3.PutObject", lambda request, **kw: events.append(dict(request.headers))
    )
    data = b"streamed " * 50_000  # larger than the server's in-memory threshold
    for key, body in (("small", b"tiny"), ("large", data)):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert got["Body"].read() == body
        assert (
            got["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        )
    sent = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in events[0].items()}
    assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent["x-amz-trailer"] == "x-amz-checksum-crc32"
