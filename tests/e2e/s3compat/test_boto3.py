"""boto3 with its default settings against `stratus up`."""

from __future__ import annotations

from typing import Any

from tests.e2e.s3compat.conftest import S3Up


def test_round_trip_with_default_client(s3_up: S3Up) -> None:
    s3: Any = s3_up.client()
    s3.create_bucket(Bucket="e2e-boto3")
    s3.put_object(Bucket="e2e-boto3", Key="hello.txt", Body=b"hi there", Metadata={"k": "v"})
    got = s3.get_object(Bucket="e2e-boto3", Key="hello.txt")
    assert got["Body"].read() == b"hi there"
    assert got["Metadata"] == {"k": "v"}
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="e2e-boto3")["Contents"]] == ["hello.txt"]
    s3.delete_object(Bucket="e2e-boto3", Key="hello.txt")
    s3.delete_bucket(Bucket="e2e-boto3")
