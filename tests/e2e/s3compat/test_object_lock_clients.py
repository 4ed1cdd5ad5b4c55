"""S3 Object Lock as clients use it, against `stratus up`: boto3's own ObjectLockMode /
ObjectLockRetainUntilDate / BypassGovernanceRetention parameters, and the aws CLI's
`s3api put-object-lock-configuration`, `get-object-lock-configuration`,
`put-object-retention`, `get-object-retention` and `put-object-legal-hold`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.s3compat.conftest import S3Up
from tests.e2e.s3compat.test_awscli import aws  # noqa: F401  (the aws CLI fixture)

LOCKED = "Access Denied because object protected by object lock."


def _later(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def test_boto3_object_lock(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    s3.create_bucket(Bucket="e2e-lock-boto3", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="e2e-lock-boto3")["Status"] == "Enabled"
    until = _later(1)
    vid = s3.put_object(
        Bucket="e2e-lock-boto3",
        Key="k",
        Body=b"kept",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    head = s3.head_object(Bucket="e2e-lock-boto3", Key="k")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", until)
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket="e2e-lock-boto3", Key="k", VersionId=vid)
    error = exc.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("AccessDenied", LOCKED)
    marker = s3.delete_object(Bucket="e2e-lock-boto3", Key="k")  # a delete marker only
    assert marker["DeleteMarker"] is True
    out = s3.delete_objects(
        Bucket="e2e-lock-boto3", Delete={"Objects": [{"Key": "k", "VersionId": vid}]}
    )
    assert [e["Code"] for e in out["Errors"]] == ["AccessDenied"]
    s3.delete_object(
        Bucket="e2e-lock-boto3", Key="k", VersionId=vid, BypassGovernanceRetention=True
    )
    s3.delete_object(Bucket="e2e-lock-boto3", Key="k", VersionId=marker["VersionId"])
    assert "Versions" not in s3.list_object_versions(Bucket="e2e-lock-boto3")
    s3.delete_bucket(Bucket="e2e-lock-boto3")


def test_aws_cli_object_lock(aws: Any, s3_up: S3Up) -> None:  # noqa: F811
    bucket = "e2e-lock-cli"
    aws("s3api", "create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket")
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    conf = {"ObjectLockEnabled": "Enabled", "Rule": rule}
    aws(
        "s3api", "put-object-lock-configuration", "--bucket", bucket,
        "--object-lock-configuration", json.dumps(conf),
    )  # fmt: skip
    got = json.loads(aws("s3api", "get-object-lock-configuration", "--bucket", bucket))
    assert got["ObjectLockConfiguration"] == conf
    put = json.loads(aws("s3api", "put-object", "--bucket", bucket, "--key", "k"))
    vid = put["VersionId"]
    ret = json.loads(aws("s3api", "get-object-retention", "--bucket", bucket, "--key", "k"))
    assert ret["Retention"]["Mode"] == "GOVERNANCE"  # the bucket's default
    until = _later(3)
    aws(
        "s3api", "put-object-retention", "--bucket", bucket, "--key", "k",
        "--retention", f"Mode=COMPLIANCE,RetainUntilDate={until:%Y-%m-%dT%H:%M:%SZ}",
    )  # fmt: skip
    shorter = _later(2)
    aws(
        "s3api",
        "put-object-retention",
        "--bucket",
        bucket,
        "--key",
        "k",
        "--retention",
        f"Mode=COMPLIANCE,RetainUntilDate={shorter:%Y-%m-%dT%H:%M:%SZ}",
        "--bypass-governance-retention",
        check=False,
    )  # fmt: skip  (refused: COMPLIANCE is never shortened)
    ret = json.loads(aws("s3api", "get-object-retention", "--bucket", bucket, "--key", "k"))
    assert ret["Retention"]["Mode"] == "COMPLIANCE"
    kept = datetime.fromisoformat(ret["Retention"]["RetainUntilDate"].replace("Z", "+00:00"))
    assert kept == until
    aws(
        "s3api", "put-object-legal-hold", "--bucket", bucket, "--key", "k",
        "--legal-hold", "Status=ON",
    )  # fmt: skip
    hold = json.loads(aws("s3api", "get-object-legal-hold", "--bucket", bucket, "--key", "k"))
    assert hold["LegalHold"] == {"Status": "ON"}
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "k"))
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockLegalHoldStatus"] == "ON"
    s3 = s3_up.client()
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert exc.value.response["Error"]["Message"] == LOCKED
