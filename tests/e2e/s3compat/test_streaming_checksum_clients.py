"""Checksums on single uploads as clients see them, against `stratus up`.

The aws CLI (Debian's v2.9): `s3api put-object --checksum-algorithm`,
`head-object --checksum-mode ENABLED`, `s3 cp` with no checksum (the server's
default CRC64NVME, read back with boto3: that CLI predates the algorithm),
and `s3api list-objects-v2` / `list-object-versions` naming each object's
ChecksumAlgorithm and ChecksumType.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from awscrt import checksums as crt

from tests.e2e.s3compat.conftest import S3Up
from tests.e2e.s3compat.test_awscli import aws  # noqa: F401  (the aws CLI fixture)


def test_aws_cli_checksums_and_listings(aws: Any, s3_up: S3Up, tmp_path: Path) -> None:  # noqa: F811
    aws("s3", "mb", "s3://e2e-put-sums")
    data = os.urandom(70_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    put = json.loads(
        aws(
            "s3api", "put-object", "--bucket", "e2e-put-sums", "--key", "sha",
            "--body", str(path), "--checksum-algorithm", "SHA256",
        )
    )  # fmt: skip
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert put["ChecksumSHA256"] == sha
    head = json.loads(
        aws(
            "s3api", "head-object", "--bucket", "e2e-put-sums", "--key", "sha",
            "--checksum-mode", "ENABLED",
        )
    )  # fmt: skip
    assert head["ChecksumSHA256"] == sha and head["ContentLength"] == len(data)
    aws("s3", "cp", str(path), "s3://e2e-put-sums/plain")
    got = s3_up.client().head_object(Bucket="e2e-put-sums", Key="plain", ChecksumMode="ENABLED")
    crc = base64.b64encode(crt.crc64nvme(data).to_bytes(8, "big")).decode()
    assert (got["ChecksumCRC64NVME"], got["ChecksumType"]) == (crc, "FULL_OBJECT")
    listed = json.loads(aws("s3api", "list-objects-v2", "--bucket", "e2e-put-sums"))
    algorithms = {o["Key"]: o.get("ChecksumAlgorithm") for o in listed["Contents"]}
    assert algorithms == {"plain": ["CRC64NVME"], "sha": ["SHA256"]}
    versions = json.loads(aws("s3api", "list-object-versions", "--bucket", "e2e-put-sums"))
    assert sorted(v["ChecksumAlgorithm"][0] for v in versions["Versions"]) == [
        "CRC64NVME",
        "SHA256",
    ]
