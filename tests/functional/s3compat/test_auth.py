"""Authentication and the wire: signatures (V4 header, presigned, streaming chunks,
V2), clock skew, addressing styles, error bodies, truncated and tampered uploads."""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import urllib.error
import urllib.request
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.auth
import botocore.crt.auth
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import BASE_DOMAIN, S3Cluster


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _client(cluster: S3Cluster, access: str, secret: str, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=cluster.endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=BotoConfig(**config) if config else None,
    )


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "404"
        return False
    return True


def test_bad_signature_unknown_key_and_error_body(s3_cluster: S3Cluster, bucket: str) -> None:
    alice = s3_cluster.users["alice"]
    with pytest.raises(ClientError) as exc:
        _client(s3_cluster, alice.access, "wrong-secret").list_objects_v2(Bucket=bucket)
    assert _code(exc) == "SignatureDoesNotMatch"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as exc:
        _client(s3_cluster, "STRNOSUCHKEY0000", "x").list_buckets()
    assert _code(exc) == "InvalidAccessKeyId"
    host = f"127.0.0.1:{s3_cluster.port}"
    signed = rawsign.sign("GET", host, f"/{bucket}/missing", alice.access, alice.secret)
    status, headers, body = rawsign.send(
        s3_cluster.port, "GET", f"/{bucket}/missing", signed.headers
    )
    assert status == 404
    root = ElementTree.fromstring(body)
    assert root.findtext("Code") == "NoSuchKey"
    assert root.findtext("Resource") == f"/{bucket}/missing"
    assert root.findtext("RequestId") == headers["x-amz-request-id"]
    status, _h, body = rawsign.send(s3_cluster.port, "GET", "/no-such-bucket-here/k", {})
    assert status == 404 and b"<Code>NoSuchBucket</Code>" in body


def _shift_clock(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """Make boto3 sign as if its clock were off by ``delta`` (plain and CRT signers)."""

    def now(*_args: Any, **_kw: Any) -> datetime:
        return datetime.now(UTC) + delta

    monkeypatch.setattr(botocore.auth, "get_current_datetime", now)
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", now)


def test_clock_skew(s3_cluster: S3Cluster, monkeypatch: pytest.MonkeyPatch, bucket: str) -> None:
    s3 = s3_cluster.client()
    _shift_clock(monkeypatch, -timedelta(hours=1))
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=bucket)
    assert _code(exc) == "RequestTimeTooSkewed"


def test_presigned_urls_and_expiry(
    s3_cluster: S3Cluster, monkeypatch: pytest.MonkeyPatch, bucket: str
) -> None:
    s3 = s3_cluster.client(signature_version="s3v4")
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60
    )
    assert "X-Amz-Signature=" in put_url
    req = urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"})
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"presigned body"
    tampered = url.replace("Key=p", "Key=q").replace(f"/{bucket}/p", f"/{bucket}/q")
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(tampered, timeout=10)
    assert http_err.value.code == 403
    _shift_clock(monkeypatch, -timedelta(hours=2))
    old = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=3600
    )
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(old, timeout=10)
    assert http_err.value.code == 403
    assert b"Request has expired" in http_err.value.read()


def test_signature_v2_header_and_query(s3_cluster: S3Cluster, bucket: str) -> None:
    alice = s3_cluster.users["alice"]
    v2 = _client(s3_cluster, alice.access, alice.secret, signature_version="s3")
    v2.put_object(Bucket=bucket, Key="v2 key", Body=b"old client", Metadata={"m": "1"})
    assert v2.get_object(Bucket=bucket, Key="v2 key")["Body"].read() == b"old client"
    assert [o["Key"] for o in v2.list_objects(Bucket=bucket)["Contents"]] == ["v2 key"]
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2 key"})
    assert "Signature=" in url and "AWSAccessKeyId=" in url
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"old client"
    bad = _client(s3_cluster, alice.access, "nope", signature_version="s3")
    with pytest.raises(ClientError) as exc:
        bad.get_object(Bucket=bucket, Key="v2 key")
    assert _code(exc) == "SignatureDoesNotMatch"


def test_virtual_hosted_style(s3_cluster: S3Cluster, bucket: str) -> None:
    alice = s3_cluster.users["alice"]
    # boto3 puts the bucket in the host name; a proxy setting routes it to loopback.
    vhost = boto3.client(
        "s3",
        endpoint_url=f"http://{BASE_DOMAIN}:{s3_cluster.port}",
        aws_access_key_id=alice.access,
        aws_secret_access_key=alice.secret,
        region_name="us-east-1",
        config=BotoConfig(
            s3={"addressing_style": "virtual"},
            proxies={"http": f"http://127.0.0.1:{s3_cluster.port}"},
        ),
    )
    sent: list[str] = []
    vhost.meta.events.register("before-send.s3", lambda request, **kw: sent.append(request.url))
    vhost.put_object(Bucket=bucket, Key="dir/v.txt", Body=b"virtual")
    assert sent[0].startswith(f"http://{bucket}.{BASE_DOMAIN}:")
    assert vhost.get_object(Bucket=bucket, Key="dir/v.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in vhost.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir/v.txt"]
    path_style = s3_cluster.client(s3={"addressing_style": "path"})
    assert path_style.get_object(Bucket=bucket, Key="dir/v.txt")["Body"].read() == b"virtual"


def _streaming_put(
    cluster: S3Cluster, bucket: str, key: str, data: bytes, *, trailer: str | None = None,
    tamper: bool = False,
) -> tuple[int, bytes]:  # fmt: skip
    alice = cluster.users["alice"]
    host = f"127.0.0.1:{cluster.port}"
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
    }
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed = rawsign.sign(
        "PUT", host, f"/{bucket}/{key}", alice.access, alice.secret,
        headers=headers, payload_hash=mode,
    )  # fmt: skip
    body = rawsign.chunked_body(
        signed, data, 65536, ("x-amz-checksum-crc32", trailer) if trailer else None
    )
    if tamper:
        body = body.replace(data[70000:70010], b"X" * 10, 1)
    send_headers = {**signed.headers, "content-length": str(len(body))}
    status, _h, reply = rawsign.send(cluster.port, "PUT", f"/{bucket}/{key}", send_headers, body)
    return status, reply


def test_streaming_signed_chunks(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 800  # 204,800 bytes: four chunks
    assert _streaming_put(s3_cluster, bucket, "chunked", data)[0] == 200
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data
    status, reply = _streaming_put(s3_cluster, bucket, "tampered", data, tamper=True)
    assert status == 403 and b"SignatureDoesNotMatch" in reply
    assert not _exists(s3, bucket, "tampered")
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert _streaming_put(s3_cluster, bucket, "trailer", data, trailer=crc)[0] == 200
    got = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc
    wrong = base64.b64encode(b"\x00\x00\x00\x00").decode()
    status, reply = _streaming_put(s3_cluster, bucket, "badcrc", data, trailer=wrong)
    assert status == 400 and b"BadDigest" in reply
    assert not _exists(s3, bucket, "badcrc")


def test_payload_hash_mismatch_and_truncated_upload(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    alice = s3_cluster.users["alice"]
    host = f"127.0.0.1:{s3_cluster.port}"
    claimed = hashlib.sha256(b"something else").hexdigest()
    signed = rawsign.sign("PUT", host, f"/{bucket}/h", alice.access, alice.secret,
                          payload_hash=claimed)  # fmt: skip
    status, _h, reply = rawsign.send(
        s3_cluster.port, "PUT", f"/{bucket}/h", signed.headers, b"data"
    )
    assert status == 400 and b"XAmzContentSHA256Mismatch" in reply
    assert not _exists(s3, bucket, "h")
    for size in (1000, 600_000):  # buffered and streamed paths
        key = f"cut-{size}"
        signed = rawsign.sign("PUT", host, f"/{bucket}/{key}", alice.access, alice.secret,
                              payload_hash="UNSIGNED-PAYLOAD")  # fmt: skip
        head = f"PUT /{bucket}/{key} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in signed.headers.items())
        head += f"content-length: {size * 2}\r\nconnection: close\r\n\r\n"
        with socket.create_connection(("127.0.0.1", s3_cluster.port), timeout=30) as sock:
            sock.sendall(head.encode() + b"z" * size)
            sock.shutdown(socket.SHUT_WR)  # the body ends early
            while sock.recv(65536):  # the server answers or closes once it gave up
                pass
        assert not _exists(s3, bucket, key)


def test_not_implemented_names_the_operation(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_accelerate_configuration(Bucket=bucket)
    assert _code(exc) == "NotImplemented"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "GetBucketAccelerateConfiguration" in exc.value.response["Error"]["Message"]


def test_uploads_need_a_length_and_multi_delete_needs_a_digest(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    alice = s3_cluster.users["alice"]
    host = f"127.0.0.1:{s3_cluster.port}"
    signed = rawsign.sign("PUT", host, f"/{bucket}/nolength", alice.access, alice.secret)
    head = f"PUT /{bucket}/nolength HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in signed.headers.items()
    )
    with socket.create_connection(("127.0.0.1", s3_cluster.port), timeout=10) as sock:
        sock.sendall((head + "\r\n").encode())  # neither Content-Length nor chunked
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 411") and b"MissingContentLength" in reply
    assert not _exists(s3, bucket, "nolength")
    s3.put_object(Bucket=bucket, Key="keep", Body=b"k")
    xml = b"<Delete><Object><Key>keep</Key></Object></Delete>"
    signed = rawsign.sign("POST", host, f"/{bucket}", alice.access, alice.secret,
                          payload_hash=hashlib.sha256(xml).hexdigest(),
                          query=[("delete", "")])  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", s3_cluster.port, timeout=30)
    try:
        conn.request("POST", f"/{bucket}?delete=", body=xml, headers=signed.headers)
        resp = conn.getresponse()
        status, body = resp.status, resp.read()
    finally:
        conn.close()
    assert status == 400 and b"Content-MD5 OR x-amz-checksum-*" in body
    assert _exists(s3, bucket, "keep")
