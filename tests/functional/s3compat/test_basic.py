"""The first S3 operations through boto3 against a real loopback cluster."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_put_get_head_delete(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello", Metadata={"color": "blue"})
    assert put["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    got = s3.get_object(Bucket=bucket, Key="a/b.txt")
    assert got["Body"].read() == b"hello"
    assert got["Metadata"] == {"color": "blue"}
    head = s3.head_object(Bucket=bucket, Key="a/b.txt")
    assert head["ContentLength"] == 5
    s3.delete_object(Bucket=bucket, Key="a/b.txt")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="a/b.txt")
    assert _code(exc) == "NoSuchKey"


def test_list_buckets_and_objects(s3: Any, bucket: str) -> None:
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket in names
    for key in ("x/1", "x/2", "y", "z/3"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    listed = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [c["Key"] for c in listed["Contents"]] == ["y"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["x/", "z/"]
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
    assert page["IsTruncated"] and page["KeyCount"] == 2
    rest = s3.list_objects_v2(Bucket=bucket, ContinuationToken=page["NextContinuationToken"])
    assert [c["Key"] for c in rest["Contents"]] == ["y", "z/3"]
    v1 = s3.list_objects(Bucket=bucket, Prefix="x/")
    assert [c["Key"] for c in v1["Contents"]] == ["x/1", "x/2"]


def test_delete_bucket(s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name)
    # Again in us-east-1: 200, as AWS (BucketAlreadyOwnedByYou elsewhere: test_aws_details).
    assert s3.create_bucket(Bucket=bucket_name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.put_object(Bucket=bucket_name, Key="k", Body=b"")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket_name)
    assert _code(exc) == "BucketNotEmpty"
    s3.delete_object(Bucket=bucket_name, Key="k")
    s3.delete_bucket(Bucket=bucket_name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=bucket_name)
    assert exc.value.response["Error"]["Code"] == "404"
