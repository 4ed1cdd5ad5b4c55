"""One account, two APIs: what boto3 writes, swiftclient reads, and back, metadata included."""

from __future__ import annotations

from typing import Any

import pytest
import swiftclient

from tests.functional.s3compat.conftest import MiB, S3Cluster, upload_parts


@pytest.fixture
def swift(s3_cluster: S3Cluster) -> Any:
    alice = s3_cluster.users["alice"]
    conn = swiftclient.Connection(
        authurl=s3_cluster.auth_url, user="alpha:alice", key=alice.key, retries=0
    )
    yield conn
    conn.close()


def test_s3_write_swift_read(s3: Any, swift: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="dir/from-s3.txt",
        Body=b"written by boto3",
        ContentType="text/plain",
        ContentEncoding="identity",
        Metadata={"color": "blue", "Mixed-Case": "v"},
        Tagging="a=1",
        StorageClass="STANDARD_IA",
    )
    headers, body = swift.get_object(bucket, "dir/from-s3.txt")
    assert body == b"written by boto3"
    assert headers["x-object-meta-color"] == "blue"
    assert headers["x-object-meta-mixed-case"] == "v"
    assert headers["content-type"] == "text/plain"
    assert headers["content-encoding"] == "identity"
    assert not [h for h in headers if h.startswith("s3")]  # S3's own state stays hidden
    assert bucket in [c["name"] for c in swift.get_account()[1]]
    assert [o["name"] for o in swift.get_container(bucket)[1]] == ["dir/from-s3.txt"]


def test_swift_write_s3_read(s3: Any, swift: Any, bucket_name: str) -> None:
    swift.put_container(bucket_name)
    swift.put_object(
        bucket_name,
        "from-swift",
        contents=b"written by swiftclient",
        content_type="application/x-swift",
        headers={"X-Object-Meta-Shape": "round", "Content-Disposition": "inline"},
    )
    assert bucket_name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    got = s3.get_object(Bucket=bucket_name, Key="from-swift")
    assert got["Body"].read() == b"written by swiftclient"
    assert got["Metadata"] == {"shape": "round"}
    assert got["ContentType"] == "application/x-swift"
    assert got["ContentDisposition"] == "inline"
    listed = s3.list_objects_v2(Bucket=bucket_name)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("from-swift", 22)]


def test_swift_post_keeps_s3_state(s3: Any, swift: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="t=1", Metadata={"old": "1"})
    swift.post_object(bucket, "k", headers={"X-Object-Meta-New": "2"})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"new": "2"}
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "t", "Value": "1"}]


def test_multipart_object_through_swift(s3: Any, swift: Any, bucket: str) -> None:
    parts = [b"m" * (5 * MiB), b"end"]
    uid, done = upload_parts(s3, bucket, "mp", parts)
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done}
    )
    headers, body = swift.get_object(bucket, "mp")
    assert body == b"".join(parts)
    assert int(headers["content-length"]) == 5 * MiB + 3
    _h, ranged = swift.get_object(bucket, "mp", headers={"Range": "bytes=5242878-5242881"})
    assert ranged == b"mmen"
    # The row shows the whole size, swift_bytes taken out of the content type, and the
    # S3 ETag beside the manifest's own in "hash" (as Swift's s3api objects are listed).
    listed = swift.get_container(bucket)[1]
    assert [o["name"] for o in listed] == ["mp"]
    assert listed[0]["bytes"] == 5 * MiB + 3
    assert "swift_bytes" not in listed[0]["content_type"]
    assert listed[0]["hash"].endswith("; s3_etag=" + headers["etag"].strip('"'))


def test_swift_slo_through_s3(s3: Any, swift: Any, bucket: str) -> None:
    """A Swift static large object reads whole through S3 (inline data, ranged segments)."""
    import json

    swift.put_object(bucket, "seg/1", b"a" * 10)
    swift.put_object(bucket, "seg/2", b"b" * 10)
    doc = [
        {"path": f"/{bucket}/seg/1"},
        {"data": "WFla"},
        {"path": f"/{bucket}/seg/2", "range": "5-"},
    ]
    swift.put_object(bucket, "big", json.dumps(doc), query_string="multipart-manifest=put")
    whole = b"a" * 10 + b"XYZ" + b"b" * 5
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == whole and got["ContentLength"] == len(whole)
    ranged = s3.get_object(Bucket=bucket, Key="big", Range="bytes=8-14")["Body"].read()
    assert ranged == whole[8:15]
    s3.delete_object(Bucket=bucket, Key="big")
    names = [o["name"] for o in swift.get_container(bucket)[1]]
    assert names == ["seg/1", "seg/2"]
