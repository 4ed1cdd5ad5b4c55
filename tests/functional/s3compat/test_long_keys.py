"""Keys at S3's 1,024-byte limit through boto3: listed, counted, paged, deleted."""

from __future__ import annotations

import time
from typing import Any

from objectstore.node.server import STATE
from tests.functional.s3compat.conftest import S3Cluster

ASCII_MAX = "k" * 1000 + "/" + "v" * 23  # 1,024 bytes
EURO_MAX = "€" * 341 + "x"  # 1,024 bytes of UTF-8


def _pending(cluster: S3Cluster) -> int:
    async def count() -> int:
        states = [r.app[STATE] for r in cluster.runners if STATE in r.app]
        assert len(states) == cluster.nodes
        return sum(sum(s.async_pending().values()) for s in states)

    deadline = time.monotonic() + 10
    while (left := cluster.run(count())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _keys(s3: Any, bucket: str, **kw: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, **kw)
    return [c["Key"] for c in listed.get("Contents", [])]


def test_keys_at_the_limit_are_listed_counted_and_deleted(
    s3: Any, bucket: str, s3_cluster: S3Cluster
) -> None:
    for key in (ASCII_MAX, EURO_MAX):
        assert len(key.encode()) == 1024
        s3.put_object(Bucket=bucket, Key=key, Body=b"abc")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"abc"
    assert _pending(s3_cluster) == 0
    listed = s3.list_objects_v2(Bucket=bucket)
    assert listed["KeyCount"] == 2
    assert [c["Key"] for c in listed["Contents"]] == [ASCII_MAX, EURO_MAX]
    assert [c["Size"] for c in listed["Contents"]] == [3, 3]
    assert _keys(s3, bucket, StartAfter=ASCII_MAX) == [EURO_MAX]
    v1 = s3.list_objects(Bucket=bucket, Marker=ASCII_MAX)
    assert [c["Key"] for c in v1["Contents"]] == [EURO_MAX]
    by_dir = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in by_dir["CommonPrefixes"]] == ["k" * 1000 + "/"]
    assert by_dir["KeyCount"] == 2

    s3.delete_object(Bucket=bucket, Key=EURO_MAX)
    assert _keys(s3, bucket) == [ASCII_MAX]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": ASCII_MAX}]})
    assert [d["Key"] for d in answer["Deleted"]] == [ASCII_MAX]
    assert _pending(s3_cluster) == 0
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)  # empty, so the container's count went back to 0


def test_continuation_tokens_page_exactly_through_long_keys_sharing_a_prefix(
    s3: Any, bucket: str, s3_cluster: S3Cluster
) -> None:
    head = "h" * 300 + "€" * 100  # 600 bytes
    keys = [f"{head}{i:03d}/{'z' * (i % 4) * 100}" for i in range(30)] + [head]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    assert _pending(s3_cluster) == 0
    ordered = sorted(keys, key=str.encode)
    paged: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=4, **token)
        assert page["KeyCount"] == len(page.get("Contents", []))
        paged += [c["Key"] for c in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = {"ContinuationToken": page["NextContinuationToken"]}
    assert paged == ordered
    rolled = s3.list_objects_v2(Bucket=bucket, Prefix=head, Delimiter="/", MaxKeys=1000)
    assert [c["Key"] for c in rolled["Contents"]] == [head]
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == [f"{head}{i:03d}/" for i in range(30)]
    paginator = s3.get_paginator("list_objects_v2")
    prefixes = []
    for page in paginator.paginate(Bucket=bucket, Delimiter="/", Prefix=head, MaxKeys=7):
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert prefixes == [f"{head}{i:03d}/" for i in range(30)]


def test_tags_of_keys_at_the_limit(s3: Any, bucket: str) -> None:
    """Tags of 1,024-byte keys (ASCII and multi-byte UTF-8) are stored and read back."""
    for key in (ASCII_MAX, EURO_MAX):
        s3.put_object(Bucket=bucket, Key=key, Body=b"abc")
        tags = [{"Key": "k", "Value": key[:5]}]
        s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tags})
        assert s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == tags
        assert s3.get_object(Bucket=bucket, Key=key)["TagCount"] == 1


def test_multipart_uploads_of_keys_at_the_limit(s3: Any, bucket: str) -> None:
    for key in (ASCII_MAX, EURO_MAX):
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"p")
        assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [key]
        parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
        assert [p["PartNumber"] for p in parts] == [1]
        done = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=done)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"p"
