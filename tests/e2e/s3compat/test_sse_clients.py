"""Server-side encryption as clients use it, against a `stratus up` serving S3 over TLS
(SSE-C needs it, as on AWS): boto3's own SSECustomerAlgorithm / SSECustomerKey parameters,
the aws CLI's `s3 cp --sse-c` (multipart included) and `s3api put-bucket-encryption`, and
`stratus sse-keys rotate` on the running cloud."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.objectstore.conftest import ROOT
from tests.e2e.s3compat.conftest import S3Up, tls_stratus_up
from tests.helpers.tools import missing_tool

MiB = 1024 * 1024
KEY = os.urandom(32)
DEBIAN_AWS = Path("/usr/bin/aws")


@pytest.fixture(scope="module")
def tls_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Up, Path]]:
    with tls_stratus_up(tmp_path_factory, "sse") as found:
        yield found


@pytest.fixture(scope="module")
def s3(tls_up: tuple[S3Up, Path]) -> Any:
    up, cert = tls_up
    return boto3.client(
        "s3",
        endpoint_url=up.endpoint,
        aws_access_key_id=up.access,
        aws_secret_access_key=up.secret,
        region_name="us-east-1",
        verify=str(cert),
    )


def ssec(key: bytes = KEY, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}


def test_boto3_sse_c(s3: Any) -> None:
    s3.create_bucket(Bucket="sse-boto3")
    data = os.urandom(300_000)
    put = s3.put_object(Bucket="sse-boto3", Key="o", Body=data, **ssec())
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert s3.get_object(Bucket="sse-boto3", Key="o", **ssec())["Body"].read() == data
    got = s3.get_object(Bucket="sse-boto3", Key="o", Range="bytes=1001-2002", **ssec())
    assert got["Body"].read() == data[1001:2003]
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket="sse-boto3", Key="o")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="sse-boto3", Key="o", **ssec(os.urandom(32)))
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    s3.copy_object(
        Bucket="sse-boto3",
        Key="copy",
        CopySource={"Bucket": "sse-boto3", "Key": "o"},
        **ssec(KEY, "CopySource"),
        ServerSideEncryption="AES256",
    )
    head = s3.head_object(Bucket="sse-boto3", Key="copy")
    assert head["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket="sse-boto3", Key="copy")["Body"].read() == data


@pytest.fixture
def aws(tls_up: tuple[S3Up, Path], tmp_path: Path):
    if not DEBIAN_AWS.exists():
        missing_tool("/usr/bin/aws (Debian package awscli, aws-cli v2) is not installed")
    up, cert = tls_up
    env = {**os.environ, **up.env(), "HOME": str(tmp_path), "AWS_CA_BUNDLE": str(cert)}

    def run(*args: str) -> str:
        proc = subprocess.run(
            [str(DEBIAN_AWS), "--endpoint-url", up.endpoint, *args],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    return run


def test_aws_cli_sse_c_and_bucket_encryption(aws: Any, s3: Any, tmp_path: Path) -> None:
    keyfile = tmp_path / "key.bin"
    keyfile.write_bytes(KEY)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * MiB))  # over the CLI's 8 MiB: a multipart upload
    aws("s3", "mb", "s3://sse-cli")
    sse_c = ["--sse-c", "AES256", "--sse-c-key", f"fileb://{keyfile}"]
    aws("s3", "cp", str(big), "s3://sse-cli/big.bin", *sse_c)
    out = tmp_path / "out.bin"
    aws("s3", "cp", "s3://sse-cli/big.bin", str(out), *sse_c)
    assert out.read_bytes() == big.read_bytes()
    assert s3.head_object(Bucket="sse-cli", Key="big.bin", **ssec())["ContentLength"] == 9 * MiB
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    aws("s3api", "put-bucket-encryption", "--bucket", "sse-cli",
        "--server-side-encryption-configuration", json.dumps(config))  # fmt: skip
    shown = json.loads(aws("s3api", "get-bucket-encryption", "--bucket", "sse-cli"))
    rule = shown["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    small = tmp_path / "small.txt"
    small.write_text("encrypted by default")
    aws("s3", "cp", str(small), "s3://sse-cli/small.txt")
    head = json.loads(aws("s3api", "head-object", "--bucket", "sse-cli", "--key", "small.txt"))
    assert head["ServerSideEncryption"] == "AES256"


def test_key_rotation_on_a_running_cloud(tls_up: tuple[S3Up, Path], s3: Any) -> None:
    up, _cert = tls_up
    s3.create_bucket(Bucket="sse-rotate")
    s3.put_object(Bucket="sse-rotate", Key="before", Body=b"one", ServerSideEncryption="AES256")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env["STRATUS_DATA"] = str(up.server.data_dir)

    def stratus(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "stratus.cli.main", "sse-keys", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return proc.stdout

    listed = json.loads(stratus("list", "--json"))
    assert listed["active"] == "1"
    assert "now active" in stratus("rotate")
    assert json.loads(stratus("list", "--json"))["active"] == "2"
    s3.put_object(Bucket="sse-rotate", Key="after", Body=b"two", ServerSideEncryption="AES256")
    assert s3.get_object(Bucket="sse-rotate", Key="before")["Body"].read() == b"one"
    assert s3.get_object(Bucket="sse-rotate", Key="after")["Body"].read() == b"two"
    keyfile = up.server.data_dir / "sse-keys.toml"
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
