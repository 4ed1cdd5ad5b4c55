"""Multipart checksums as clients use them, against `stratus up`.

boto3: a FULL_OBJECT CRC32 upload through s3transfer (it states the whole
file's CRC), a COMPOSITE SHA256 upload, GetObject with ChecksumMode (botocore
checks the bytes against the answer), parts and attributes, and the errors.
The aws CLI (Debian's v2.9: it has --checksum-algorithm and --checksum-mode,
not yet --checksum-type, so its uploads are COMPOSITE): `s3api
create-multipart-upload`, `upload-part`, `list-parts`,
`complete-multipart-upload`, `head-object --checksum-mode ENABLED` and
`get-object --part-number --checksum-mode ENABLED`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zlib
from pathlib import Path
from typing import Any

import pytest
from awscrt import checksums as crt
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.e2e.s3compat.conftest import S3Up
from tests.e2e.s3compat.test_awscli import aws  # noqa: F401  (the aws CLI fixture)

MiB = 1024 * 1024


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_boto3_full_object_and_composite(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    s3.create_bucket(Bucket="e2e-mpu-sums")
    data = os.urandom(12 * MiB + 3)
    whole = b64(zlib.crc32(data).to_bytes(4, "big"))
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(
        io.BytesIO(data), "e2e-mpu-sums", "full", Config=cfg, ExtraArgs={"ChecksumCRC32": whole}
    )
    got = s3.get_object(Bucket="e2e-mpu-sums", Key="full", ChecksumMode="ENABLED")
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (whole, "FULL_OBJECT")
    assert got["Body"].read() == data  # botocore checked the CRC as it read

    up = s3.create_multipart_upload(Bucket="e2e-mpu-sums", Key="comp", ChecksumAlgorithm="SHA256")
    assert (up["ChecksumAlgorithm"], up["ChecksumType"]) == ("SHA256", "COMPOSITE")
    chunks = [data[: 5 * MiB], data[5 * MiB : 6 * MiB]]
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        done = s3.upload_part(
            Bucket="e2e-mpu-sums", Key="comp", UploadId=up["UploadId"], PartNumber=n,
            Body=chunk, ChecksumAlgorithm="SHA256",
        )  # fmt: skip
        parts.append(
            {"PartNumber": n, "ETag": done["ETag"], "ChecksumSHA256": done["ChecksumSHA256"]}
        )
    listed = s3.list_parts(Bucket="e2e-mpu-sums", Key="comp", UploadId=up["UploadId"])
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [p["ChecksumSHA256"] for p in parts]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="e2e-mpu-sums", Key="comp", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{k: v for k, v in p.items() if k != "ChecksumSHA256"}
                                       for p in parts]},
        )  # fmt: skip
    assert exc.value.response["Error"]["Message"] == (
        "The upload was created using a sha256 checksum. The complete request must include "
        "the checksum for each part. It was missing for part 1 in the request."
    )
    of_sums = hashlib.sha256(b"".join(base64.b64decode(p["ChecksumSHA256"]) for p in parts))
    composite = b64(of_sums.digest())
    done = s3.complete_multipart_upload(
        Bucket="e2e-mpu-sums", Key="comp", UploadId=up["UploadId"],
        MultipartUpload={"Parts": parts}, ChecksumSHA256=composite,
    )  # fmt: skip
    assert done["ChecksumSHA256"] == composite + "-2"
    for n, chunk in enumerate(chunks, start=1):
        part = s3.get_object(
            Bucket="e2e-mpu-sums", Key="comp", PartNumber=n, ChecksumMode="ENABLED"
        )
        assert part["ChecksumSHA256"] == b64(hashlib.sha256(chunk).digest())
        assert part["Body"].read() == chunk
    attrs = s3.get_object_attributes(
        Bucket="e2e-mpu-sums", Key="comp", ObjectAttributes=["Checksum", "ObjectParts"]
    )
    assert attrs["Checksum"] == {"ChecksumSHA256": composite, "ChecksumType": "COMPOSITE"}
    assert attrs["ObjectParts"]["TotalPartsCount"] == 2


def test_aws_cli_multipart_checksums(aws: Any, s3_up: S3Up, tmp_path: Path) -> None:  # noqa: F811
    aws("s3", "mb", "s3://e2e-cli-sums")
    up = json.loads(
        aws(
            "s3api", "create-multipart-upload", "--bucket", "e2e-cli-sums", "--key", "k",
            "--checksum-algorithm", "CRC32C",
        )
    )  # fmt: skip
    uid = up["UploadId"]
    assert up["ChecksumAlgorithm"] == "CRC32C"
    chunks = [os.urandom(5 * MiB), b"the end"]
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        path = tmp_path / f"part{n}"
        path.write_bytes(chunk)
        done = json.loads(
            aws(
                "s3api", "upload-part", "--bucket", "e2e-cli-sums", "--key", "k",
                "--upload-id", uid, "--part-number", str(n), "--body", str(path),
                "--checksum-algorithm", "CRC32C",
            )
        )  # fmt: skip
        crc = b64(crt.crc32c(chunk).to_bytes(4, "big"))
        assert done["ChecksumCRC32C"] == crc
        parts.append({"PartNumber": n, "ETag": done["ETag"], "ChecksumCRC32C": crc})
    listed = json.loads(
        aws("s3api", "list-parts", "--bucket", "e2e-cli-sums", "--key", "k", "--upload-id", uid)
    )
    assert [p["ChecksumCRC32C"] for p in listed["Parts"]] == [p["ChecksumCRC32C"] for p in parts]
    wrong = [dict(parts[0], ChecksumCRC32C=parts[1]["ChecksumCRC32C"]), parts[1]]
    out = aws(
        "s3api", "complete-multipart-upload", "--bucket", "e2e-cli-sums", "--key", "k",
        "--upload-id", uid, "--multipart-upload", json.dumps({"Parts": wrong}), check=False,
    )  # fmt: skip
    assert out == ""  # refused: InvalidPart, the upload still open
    done = json.loads(
        aws(
            "s3api", "complete-multipart-upload", "--bucket", "e2e-cli-sums", "--key", "k",
            "--upload-id", uid, "--multipart-upload", json.dumps({"Parts": parts}),
        )
    )  # fmt: skip
    raw = b"".join(base64.b64decode(p["ChecksumCRC32C"]) for p in parts)
    composite = b64(crt.crc32c(raw).to_bytes(4, "big")) + "-2"
    assert done["ChecksumCRC32C"] == composite
    head = json.loads(
        aws("s3api", "head-object", "--bucket", "e2e-cli-sums", "--key", "k",
            "--checksum-mode", "ENABLED")
    )  # fmt: skip
    assert head["ChecksumCRC32C"] == composite
    quiet = json.loads(aws("s3api", "head-object", "--bucket", "e2e-cli-sums", "--key", "k"))
    assert "ChecksumCRC32C" not in quiet
    # A part, with its own checksum (the CLI checks the bytes it writes against it).
    out_file = tmp_path / "part1.out"
    got = json.loads(
        aws("s3api", "get-object", "--bucket", "e2e-cli-sums", "--key", "k",
            "--part-number", "1", "--checksum-mode", "ENABLED", str(out_file))
    )  # fmt: skip
    assert got["ChecksumCRC32C"] == parts[0]["ChecksumCRC32C"]
    assert out_file.read_bytes() == chunks[0]
