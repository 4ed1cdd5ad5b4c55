"""Bucket lifecycle as clients use it, against `stratus up`: the aws CLI's
`s3api put-bucket-lifecycle-configuration` / `get-bucket-lifecycle-configuration`, and a
pass run by `stratus s3 lifecycle run` with a debug "day" of one second
(`STRATUS_S3_LIFECYCLE_DEBUG_DAY_SECONDS`), observed with boto3: a current object
expired, a noncurrent version removed, an incomplete upload aborted, a locked version kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.objectstore.conftest import ROOT
from tests.e2e.s3compat.conftest import S3Up
from tests.e2e.s3compat.test_awscli import aws  # noqa: F401  (the aws CLI fixture)

BUCKET = "e2e-lifecycle"
RULES: dict[str, Any] = {
    "Rules": [
        {"ID": "exp", "Filter": {"Prefix": "exp/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
        {
            "ID": "nc",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        },
        {
            "ID": "mpu",
            "Filter": {"Prefix": "mpu/"},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    ]
}


def _stratus(up: S3Up, *args: str) -> str:
    """`stratus` on the running cloud's data directory, with one-second lifecycle days."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    server = up.server
    env.update(
        STRATUS_DATA=str(server.data_dir),
        STRATUS_STORAGE_BASE_PORT=str(server.base_port),
        STRATUS_STORAGE_NODES=str(server.nodes),
        STRATUS_S3_LIFECYCLE_DEBUG_DAY_SECONDS="1",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_lifecycle_with_aws_cli_and_stratus_pass(aws: Any, s3_up: S3Up) -> None:  # noqa: F811
    s3 = s3_up.client()
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)  # versioned, lockable
    aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", BUCKET,
        "--lifecycle-configuration", json.dumps(RULES))  # fmt: skip
    shown = json.loads(aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", BUCKET))
    assert shown["Rules"] == RULES["Rules"]
    put = s3.put_object(Bucket=BUCKET, Key="exp/a", Body=b"soon gone")
    assert 'rule-id="exp"' in put["Expiration"]
    old = s3.put_object(Bucket=BUCKET, Key="nc/k", Body=b"old")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="nc/k", Body=b"new")
    until = datetime.now(UTC) + timedelta(days=1)
    locked = s3.put_object(
        Bucket=BUCKET, Key="lock/k", Body=b"kept",
        ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until,
    )["VersionId"]  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key="lock/k", Body=b"newer")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu/x")["UploadId"]
    time.sleep(1.5)  # more than one debug day: every rule is due
    result = json.loads(_stratus(s3_up, "s3", "lifecycle", "run", "--json"))
    assert result["errors"] == [], result
    assert result["buckets"] >= 1, result
    assert (result["expired"], result["aborted"]) == (1, 1)
    assert result["noncurrent"] >= 1 and result["locked"] >= 1
    versions = s3.list_object_versions(Bucket=BUCKET)
    vids = {v["VersionId"] for v in versions.get("Versions", [])}
    assert old not in vids and locked in vids
    assert [m["Key"] for m in versions.get("DeleteMarkers", [])] == ["exp/a"]
    assert "exp/a" not in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert upload not in [u["UploadId"] for u in uploads]
    aws("s3api", "delete-bucket-lifecycle", "--bucket", BUCKET)
    assert "Expiration" not in s3.head_object(Bucket=BUCKET, Key="nc/k")
