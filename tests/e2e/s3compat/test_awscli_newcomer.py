"""The aws CLI as a newcomer runs it: credentials in the environment, no region anywhere.

With no region, aws-cli v2 signs for us-east-1 but ``aws s3 mb`` sends
``<LocationConstraint>aws-global</LocationConstraint>`` (botocore's
partition-wide pseudo-region); AWS serves that from us-east-1, and so does Stratus.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.s3compat.conftest import S3Up
from tests.helpers.tools import missing_tool

DEBIAN_AWS = Path("/usr/bin/aws")  # not a pip-installed v1 earlier on PATH (see test_awscli)


def test_mb_ls_cp_with_no_region_configured(s3_up: S3Up, tmp_path: Path) -> None:
    if not DEBIAN_AWS.exists():
        missing_tool("/usr/bin/aws (Debian package awscli, aws-cli v2) is not installed")
    env = {
        k: v
        for k, v in {**os.environ, **s3_up.env()}.items()
        if k not in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE")
    }
    env["HOME"] = str(tmp_path)  # no ~/.aws/config either

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DEBIAN_AWS), "--endpoint-url", s3_up.endpoint, *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    made = aws("s3", "mb", "s3://e2e-newcomer")
    assert made.returncode == 0, made.stdout + made.stderr
    assert made.stdout.strip() == "make_bucket: e2e-newcomer"
    src = tmp_path / "hello.txt"
    src.write_text("hello")
    copied = aws("s3", "cp", str(src), "s3://e2e-newcomer/hello.txt")
    assert copied.returncode == 0, copied.stderr
    listed = aws("s3", "ls", "s3://e2e-newcomer/")
    assert listed.returncode == 0 and "hello.txt" in listed.stdout, listed.stderr
    s3 = s3_up.client()
    assert s3.get_bucket_location(Bucket="e2e-newcomer")["LocationConstraint"] is None
    # A second mb in us-east-1 succeeds as on AWS (BucketAlreadyOwnedByYou elsewhere).
    again = aws("s3", "mb", "s3://e2e-newcomer")
    assert again.returncode == 0, again.stderr
    assert aws("s3", "rb", "--force", "s3://e2e-newcomer").returncode == 0
