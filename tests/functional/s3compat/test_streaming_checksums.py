"""aws-chunked uploads with checksum trailers, and the default checksum, as AWS answers them.

boto3 (≥ 1.36) sends PutObject / UploadPart over HTTPS as
STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-crc32 trailer by
default; with ``request_checksum_calculation="when_required"`` it sends no
checksum at all, and S3 then gives the object a full-object CRC64NVME one.
The framing and trailer mistakes boto3 never makes are sent raw (rawsign),
each checked against AWS's status, code and message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import swiftclient
from awscrt import checksums as crt
from botocore.exceptions import ClientError

from s3compat import checksums
from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import S3Cluster

UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _crc64nvme(data: bytes) -> str:
    return base64.b64encode(crt.crc64nvme(data).to_bytes(8, "big")).decode()


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def _capture(client: Any, operation: str) -> list[dict[str, str]]:
    """The headers boto3 sends for ``operation`` (what its defaults really are)."""
    seen: list[dict[str, str]] = []

    def hook(request: Any, **_kw: Any) -> None:
        seen.append({k.lower(): v.decode() if isinstance(v, bytes) else v
                     for k, v in request.headers.items()})  # fmt: skip

    client.meta.events.register(f"before-send.s3.{operation}", hook)
    return seen


def test_boto3_default_sends_a_crc32_trailer(s3_cluster: S3Cluster, bucket: str) -> None:
    tls = s3_cluster.client("alice", tls=True)
    sent = _capture(tls, "PutObject")
    data = b"trailing checksum " * 1000
    put = tls.put_object(Bucket=bucket, Key="k", Body=data)
    assert sent[0]["x-amz-content-sha256"] == UNSIGNED_TRAILER
    assert sent[0]["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert "aws-chunked" in sent[0]["content-encoding"]
    assert put["ChecksumCRC32"] == _crc32(data) and put["ChecksumType"] == "FULL_OBJECT"
    got = tls.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == data  # (botocore validates the CRC32 it is sent)
    assert got["ChecksumCRC32"] == _crc32(data) and "ContentEncoding" not in got
    # UploadPart the same way, in an upload created without an algorithm
    parts_sent = _capture(tls, "UploadPart")
    upload = tls.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
    part = tls.upload_part(Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1, Body=data)
    assert parts_sent[0]["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert part["ChecksumCRC32"] == _crc32(data)
    tls.complete_multipart_upload(
        Bucket=bucket, Key="mpu", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    assert tls.get_object(Bucket=bucket, Key="mpu")["Body"].read() == data


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
def test_each_algorithm_as_a_trailer(s3_cluster: S3Cluster, bucket: str, algorithm: str) -> None:
    tls = s3_cluster.client("alice", tls=True)
    sent = _capture(tls, "PutObject")
    data = bytes(range(256)) * 1200  # 307,200 bytes: past the buffered size, so a footer
    put = tls.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm=algorithm)
    assert sent[0]["x-amz-trailer"] == f"x-amz-checksum-{algorithm.lower()}"
    field = f"Checksum{algorithm}"
    assert put[field] == checksums.compute(algorithm, data)
    head = tls.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[field] == put[field] and head["ChecksumType"] == "FULL_OBJECT"


@pytest.mark.parametrize("size", [4096, 300 * 1024])  # buffered, and streamed with a footer
def test_an_upload_without_checksum_gets_crc64nvme(
    s3_cluster: S3Cluster, bucket: str, size: int
) -> None:
    plain = s3_cluster.client("alice", request_checksum_calculation="when_required")
    sent = _capture(plain, "PutObject")
    data = hashlib.sha256(b"seed").digest() * (size // 32)
    put = plain.put_object(Bucket=bucket, Key="plain", Body=data)
    assert not any(h.startswith("x-amz-checksum-") for h in sent[0])  # boto3 sent none
    assert put["ChecksumCRC64NVME"] == _crc64nvme(data)
    assert put["ChecksumType"] == "FULL_OBJECT"
    head = plain.head_object(Bucket=bucket, Key="plain", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == _crc64nvme(data) and head["ChecksumType"] == "FULL_OBJECT"
    attrs = plain.get_object_attributes(Bucket=bucket, Key="plain", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"]["ChecksumCRC64NVME"] == _crc64nvme(data)
    assert "ChecksumCRC64NVME" not in plain.head_object(Bucket=bucket, Key="plain")


def _raw_put(
    cluster: S3Cluster, path: str, body: bytes, headers: dict[str, str], mode: str
) -> tuple[int, bytes]:
    u = cluster.users["alice"]
    signed = rawsign.sign(
        "PUT", f"127.0.0.1:{cluster.port}", path, u.access, u.secret,
        headers=headers, payload_hash=mode,
    )  # fmt: skip
    send = {**signed.headers, "content-length": str(len(body))}
    status, _h, reply = rawsign.send(cluster.port, "PUT", path, send, body)
    return status, reply


def _unsigned(data: bytes, *trailers: str, chunk: int = 8192) -> bytes:
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    out = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n"
    return out + "".join(f"{t}\r\n" for t in trailers).encode() + b"\r\n"


def _streaming(data: bytes, trailer: str | None = "x-amz-checksum-crc32") -> dict[str, str]:
    headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailer is not None:
        headers["x-amz-trailer"] = trailer
    return headers


def test_unsigned_trailer_errors_as_aws(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    data = b"d" * 20000
    path = f"/{bucket}/obj"

    def put(body: bytes, trailer: str | None = "x-amz-checksum-crc32") -> tuple[int, bytes]:
        return _raw_put(s3_cluster, path, body, _streaming(data, trailer), UNSIGNED_TRAILER)

    status, reply = put(_unsigned(data, f"x-amz-checksum-crc32:{_crc32(b'other')}"))
    assert status == 400 and b"<Code>BadDigest</Code>" in reply
    assert b"<Message>The CRC32 you specified did not match the calculated checksum.<" in reply
    status, reply = put(_unsigned(data, "x-amz-checksum-crc32:not-base-64"))
    assert status == 400 and b"<Code>InvalidRequest</Code>" in reply
    assert b"Value for x-amz-checksum-crc32 trailing header is invalid." in reply
    assert b"not-base-64" not in reply  # the bad value is not echoed
    status, reply = put(_unsigned(data))  # announced, never sent
    assert status == 400 and b"<Code>MalformedTrailerError</Code>" in reply
    status, reply = put(_unsigned(data, f"x-amz-checksum-crc32:{_crc32(data)}", "bonus: x"))
    assert status == 400 and b"<Code>MalformedTrailerError</Code>" in reply
    status, reply = put(_unsigned(data, f"x-amz-checksum-crc32:{_crc32(data)}", chunk=4096))
    assert status == 403 and b"<Code>InvalidChunkSizeError</Code>" in reply
    assert b"<Chunk>2</Chunk><BadChunkSize>4096</BadChunkSize>" in reply
    no_cr = _unsigned(data, f"x-amz-checksum-crc32:{_crc32(data)}").replace(b"=\r\n", b"=\n")
    status, reply = put(no_cr)
    assert status == 400 and b"<Code>IncompleteBody</Code>" in reply
    assert not _exists(s3, bucket, "obj")
    for announced in (", x-amz-checksum-crc32", "x-amz-checksum-crc32, ,", "x-amz-foo"):
        status, reply = put(_unsigned(data, f"x-amz-checksum-crc32:{_crc32(data)}"), announced)
        assert status == 400, announced
        assert b"The value specified in the x-amz-trailer header is not supported" in reply
    status, reply = put(_unsigned(data), "x-amz-checksum-crc32, x-amz-checksum-sha256")
    assert b"Expecting a single x-amz-checksum- header. Multiple checksum Types are" in reply
    assert not _exists(s3, bucket, "obj")
    # the forgiven forms: trailing commas and blanks, and a repeated trailer (the last counts)
    for announced in ("x-amz-checksum-crc32,,", "x-amz-checksum-crc32, "):
        good = _unsigned(data, f"x-amz-checksum-crc32:{_crc32(b'x')}",
                         f"x-amz-checksum-crc32: {_crc32(data)}")  # fmt: skip
        assert put(good, announced)[0] == 200
    got = s3.get_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == _crc32(data)


def test_trailer_announced_without_a_chunked_body(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    data = b"whole body"
    sha = hashlib.sha256(data).hexdigest()
    path = f"/{bucket}/obj"
    status, reply = _raw_put(s3_cluster, path, data, {"x-amz-trailer": "x-amz-checksum-crc32"}, sha)
    assert status == 400 and b"<Code>MalformedTrailerError</Code>" in reply
    both = {"x-amz-trailer": "x-amz-checksum-crc32", "x-amz-checksum-crc32": _crc32(data)}
    status, reply = _raw_put(s3_cluster, path, data, both, sha)
    assert (
        status == 400 and b"<Message>Expecting a single x-amz-checksum- header</Message>" in reply
    )
    assert not _exists(s3, bucket, "obj")


def _signed_body(signed: rawsign.Signed, data: bytes, trailer_line: bytes) -> tuple[bytes, str]:
    """A signed-chunk body; returns it (trailer not yet added) and the last chunk signature."""
    body = rawsign.chunked_body(signed, data, 8192)
    last = body.rsplit(b"chunk-signature=", 1)[1][:64].decode()
    return body[:-2] + trailer_line, last  # (chunked_body ends with the blank line)


def test_signed_trailer_signature_checks(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    u = s3_cluster.users["alice"]
    data = b"s" * 10000
    path = f"/{bucket}/obj"
    line = f"x-amz-checksum-crc32:{_crc32(data)}".encode()

    def put(make_body: Any) -> tuple[int, bytes]:
        signed = rawsign.sign(
            "PUT", f"127.0.0.1:{s3_cluster.port}", path, u.access, u.secret,
            headers=_streaming(data), payload_hash=SIGNED_TRAILER,
        )  # fmt: skip
        body = make_body(signed)
        headers = {**signed.headers, "content-length": str(len(body))}
        status, _h, reply = rawsign.send(s3_cluster.port, "PUT", path, headers, body)
        return status, reply

    def trailer_signature(signed: rawsign.Signed, last: str, canonical: bytes) -> str:
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", signed.amz_date, signed.scope, last,
                         hashlib.sha256(canonical).hexdigest()])  # fmt: skip
        return hmac.new(signed.key, sts.encode(), hashlib.sha256).hexdigest()

    def body_with(sig_for: bytes | None) -> Any:
        def make(signed: rawsign.Signed) -> bytes:
            body, last = _signed_body(signed, data, line + b"\r\n")
            if sig_for is not None:
                sig = trailer_signature(signed, last, sig_for)
                body += f"x-amz-trailer-signature:{sig}\r\n".encode()
            return body + b"\r\n"

        return make

    status, reply = put(body_with(None))  # no trailer signature
    assert status == 400 and b"<Code>IncompleteBody</Code>" in reply
    status, reply = put(body_with(line))  # signed without the newline: not what was sent
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in reply
    assert b"<StringToSign>AWS4-HMAC-SHA256-TRAILER\n" in reply
    assert b"<SignatureProvided>" in reply and b"<CanonicalRequestBytes>" in reply
    assert not _exists(s3, bucket, "obj")
    assert put(body_with(line + b"\n"))[0] == 200
    assert s3.head_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")["ChecksumCRC32"] == (
        _crc32(data)
    )


def test_chunk_signature_mismatch_names_what_was_signed(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    u = s3_cluster.users["alice"]
    data = b"c" * 9000
    path = f"/{bucket}/obj"
    signed = rawsign.sign(
        "PUT", f"127.0.0.1:{s3_cluster.port}", path, u.access, u.secret,
        headers=_streaming(data, None), payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    )  # fmt: skip
    body = rawsign.chunked_body(signed, data, 8192).replace(b"c" * 8, b"C" * 8, 1)
    headers = {**signed.headers, "content-length": str(len(body))}
    status, _h, reply = rawsign.send(s3_cluster.port, "PUT", path, headers, body)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in reply
    assert b"Check your key and signing method.</Message>" in reply
    assert b"<StringToSign>AWS4-HMAC-SHA256-PAYLOAD\n" in reply
    assert f"<AWSAccessKeyId>{u.access}</AWSAccessKeyId>".encode() in reply
    assert u.secret.encode() not in reply
    assert not _exists(s3, bucket, "obj")


def _presigned(cluster: S3Cluster, path: str, headers: dict[str, str]) -> str:
    """A presigned PUT target (path?query) signing ``headers`` too (as the suite does)."""
    u = cluster.users["alice"]
    amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    h = {**headers, "host": f"127.0.0.1:{cluster.port}"}
    names = sorted(h)
    query = sorted([
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", f"{u.access}/{scope}"),
        ("X-Amz-Date", amz_date), ("X-Amz-Expires", "300"),
        ("X-Amz-SignedHeaders", ";".join(names)),
    ])  # fmt: skip
    cquery = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    creq = "\n".join(["PUT", path, cquery, "".join(f"{n}:{h[n]}\n" for n in names),
                      ";".join(names), h["x-amz-content-sha256"]])  # fmt: skip
    sts = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()]
    )
    key = ("AWS4" + u.secret).encode()
    for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return f"{path}?{cquery}&X-Amz-Signature={signature}"


def test_presigned_streaming_is_not_decoded(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    """Only a header-signed request streams: a presigned URL's STREAMING-* payload hash is no
    digest, so the body fails as a mismatch (after AWS's length checks)."""
    data = b"p" * 100
    for decoded, code in (("50", b"IncompleteBody"), ("100", b"XAmzContentSHA256Mismatch"),
                          ("x", b"MissingContentLength")):  # fmt: skip
        headers = {
            "x-amz-content-sha256": UNSIGNED_TRAILER,
            "x-amz-decoded-content-length": decoded,
        }
        conn = http.client.HTTPConnection("127.0.0.1", s3_cluster.port, timeout=30)
        conn.request("PUT", _presigned(s3_cluster, f"/{bucket}/obj", headers), body=data,
                     headers=headers)  # fmt: skip
        reply = conn.getresponse().read()
        conn.close()
        assert code in reply, (decoded, reply)
        if decoded == "50":
            assert b"<NumberBytesExpected>50</NumberBytesExpected>" in reply
            assert b"<NumberBytesProvided>100</NumberBytesProvided>" in reply
    assert not _exists(s3, bucket, "obj")


def test_two_checksum_headers_name_no_resource(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32C")
    with pytest.raises(ClientError) as exc:
        s3.upload_part(
            Bucket=bucket, Key="k", UploadId=upload["UploadId"], PartNumber=1, Body=b"x",
            ChecksumCRC32=_crc32(b"x"), ChecksumCRC32C=checksums.compute("CRC32C", b"x"),
        )  # fmt: skip
    assert exc.value.response["Error"] == {
        "Code": "InvalidRequest",
        "Message": "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
        "not allowed.",
    }


def test_listings_name_each_checksum(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    plain = s3_cluster.client("alice", request_checksum_calculation="when_required")
    plain.put_object(Bucket=bucket, Key="a-default", Body=b"a", ContentType="text/plain")
    s3.put_object(Bucket=bucket, Key="b-sha1", Body=b"b", ChecksumAlgorithm="SHA1")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="c-mpu", ChecksumAlgorithm="CRC32C")
    uid = upload["UploadId"]
    part = s3.upload_part(
        Bucket=bucket,
        Key="c-mpu",
        UploadId=uid,
        PartNumber=1,
        Body=b"c",
        ChecksumAlgorithm="CRC32C",
    )
    s3.complete_multipart_upload(
        Bucket=bucket, Key="c-mpu", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"],
                                    "ChecksumCRC32C": part["ChecksumCRC32C"]}]},
    )  # fmt: skip
    want = {
        "a-default": (["CRC64NVME"], "FULL_OBJECT"),
        "b-sha1": (["SHA1"], "FULL_OBJECT"),
        "c-mpu": (["CRC32C"], "COMPOSITE"),
    }
    for listed in (
        s3.list_objects_v2(Bucket=bucket)["Contents"],
        s3.list_objects(Bucket=bucket)["Contents"],
    ):
        got = {o["Key"]: (o.get("ChecksumAlgorithm"), o.get("ChecksumType")) for o in listed}
        assert got == want
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="b-sha1", Body=b"b2", ChecksumAlgorithm="CRC32")
    versions = s3.list_object_versions(Bucket=bucket, Prefix="b-")["Versions"]
    assert sorted(v["ChecksumAlgorithm"][0] for v in versions) == ["CRC32", "SHA1"]
    # the parameter that carries it is never a Content-Type, through either API
    assert plain.head_object(Bucket=bucket, Key="a-default")["ContentType"] == "text/plain"
    alice = s3_cluster.users["alice"]
    swift = swiftclient.Connection(
        authurl=s3_cluster.auth_url, user="alpha:alice", key=alice.key, retries=0
    )
    try:
        assert swift.head_object(bucket, "a-default")["content-type"] == "text/plain"
        rows = {r["name"]: r["content_type"] for r in swift.get_container(bucket)[1]}
        assert rows["a-default"] == "text/plain" and ";" not in rows["c-mpu"]
    finally:
        swift.close()
