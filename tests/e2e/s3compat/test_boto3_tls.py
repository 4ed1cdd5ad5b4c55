"""boto3's default upload path, which it takes only over TLS: aws-chunked bodies
with a trailing CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER), against a `stratus up`
whose S3 API serves HTTPS with a certificate made here."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import SSLError

from tests.e2e.s3compat.conftest import S3Up, tls_stratus_up

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def tls_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Up, Path]]:
    with tls_stratus_up(tmp_path_factory, "tls") as (up, cert):
        banner = f"S3 API         https://127.0.0.1:{up.port}"
        assert banner in up.server.log_path.read_text(errors="replace")
        yield up, cert


def _client(up: S3Up, cert: Path) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=up.endpoint,
        aws_access_key_id=up.access,
        aws_secret_access_key=up.secret,
        region_name="us-east-1",
        verify=str(cert),
    )


def _record_uploads(s3: Any) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []

    def before_send(request: Any, **_: Any) -> None:
        if request.method == "PUT":
            seen.append({k.lower(): v for k, v in request.headers.items()})

    s3.meta.events.register("before-send.s3", before_send)
    return seen


def _as_str(v: str | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else v


def test_default_put_sends_trailing_crc32_and_it_is_kept(tls_up: tuple[S3Up, Path]) -> None:
    up, cert = tls_up
    s3 = _client(up, cert)
    sent = _record_uploads(s3)
    s3.create_bucket(Bucket="tls-trailers")
    data = os.urandom(700_000)
    put = s3.put_object(Bucket="tls-trailers", Key="k", Body=io.BytesIO(data))
    headers = sent[-1]
    assert _as_str(headers["x-amz-content-sha256"]) == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert _as_str(headers["x-amz-trailer"]) == "x-amz-checksum-crc32"
    assert "aws-chunked" in _as_str(headers["content-encoding"])
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == crc
    head = s3.head_object(Bucket="tls-trailers", Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc and head["ContentLength"] == len(data)
    assert "ContentEncoding" not in head  # aws-chunked is the transfer's, not the object's
    assert s3.get_object(Bucket="tls-trailers", Key="k")["Body"].read() == data


def test_default_multipart_upload_over_tls(tls_up: tuple[S3Up, Path]) -> None:
    up, cert = tls_up
    s3 = _client(up, cert)
    sent = _record_uploads(s3)
    s3.create_bucket(Bucket="tls-multipart")
    big = os.urandom(12 * MiB)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(big), "tls-multipart", "big", Config=cfg)
    parts = [h for h in sent if "x-amz-trailer" in h]
    assert len(parts) == 3
    out = io.BytesIO()
    s3.download_fileobj("tls-multipart", "big", out, Config=cfg)
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(big).digest()
    head = s3.head_object(Bucket="tls-multipart", Key="big", ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == len(big)


def test_the_certificate_is_checked(tls_up: tuple[S3Up, Path]) -> None:
    """Without the test CA, verification fails: the port really speaks TLS with that key."""
    up, _cert = tls_up
    untrusting = boto3.client(
        "s3",
        endpoint_url=up.endpoint,
        aws_access_key_id=up.access,
        aws_secret_access_key=up.secret,
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}),
    )
    with pytest.raises(SSLError):
        untrusting.list_buckets()
