"""Ownership and public access as clients set them, against `stratus up`: the aws CLI's
`s3api put-bucket-ownership-controls` / `put-public-access-block` (and their gets), with
their effect observed through an anonymous boto3 client and the CLI's own errors."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.e2e.s3compat.conftest import S3Up
from tests.e2e.s3compat.test_awscli import aws  # noqa: F401  (the aws CLI fixture)

BUCKET = "e2e-access"


def test_ownership_and_public_access_with_aws_cli(aws: Any, s3_up: S3Up) -> None:  # noqa: F811
    s3 = s3_up.client()
    anon = boto3.client(
        "s3",
        endpoint_url=s3_up.endpoint,
        region_name="us-east-1",
        config=BotoConfig(signature_version=UNSIGNED),
    )
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"public?", ACL="public-read")
    assert anon.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"public?"

    aws("s3api", "put-public-access-block", "--bucket", BUCKET,
        "--public-access-block-configuration",
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,"
        "RestrictPublicBuckets=true")  # fmt: skip
    shown = json.loads(aws("s3api", "get-public-access-block", "--bucket", BUCKET))
    assert shown["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=BUCKET, Key="k")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    refused = aws("s3api", "put-object-acl", "--bucket", BUCKET, "--key", "k",
                  "--acl", "public-read", check=False)  # fmt: skip
    assert refused == ""  # the CLI printed its AccessDenied on stderr
    aws("s3api", "delete-public-access-block", "--bucket", BUCKET)
    assert anon.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"public?"

    s3.put_object_acl(Bucket=BUCKET, Key="k", ACL="private")
    aws("s3api", "put-bucket-ownership-controls", "--bucket", BUCKET,
        "--ownership-controls", "Rules=[{ObjectOwnership=BucketOwnerEnforced}]")  # fmt: skip
    shown = json.loads(aws("s3api", "get-bucket-ownership-controls", "--bucket", BUCKET))
    assert shown["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=BUCKET, Key="p", Body=b"p", ACL="public-read")
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "AccessControlListNotSupported",
        "The bucket does not allow ACLs",
    )
    aws("s3api", "delete-bucket-ownership-controls", "--bucket", BUCKET)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_ownership_controls(Bucket=BUCKET)
    assert exc.value.response["Error"]["Code"] == "OwnershipControlsNotFoundError"
