"""Details AWS's documentation fixes and S3 tools rely on (issue 16, "correctness details"):
re-creating an owned bucket, ListBuckets pages, conditional writes on PutObject and
CompleteMultipartUpload, presigned URL lifetimes, user metadata (RFC 2047, empty values,
copies), ``Expect: 100-continue``, ListMultipartUploads owners, aws-chunked Content-Encoding.
"""

from __future__ import annotations

import http.client
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from objectstore.proxy.models import ObjectMetadata
from s3compat.app import STATE
from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import MiB, S3Cluster


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


# --- CreateBucket ---------------------------------------------------------------------------


def test_recreating_an_owned_bucket_in_us_east_1_answers_200(
    s3_cluster: S3Cluster, s3: Any, bucket_name: str
) -> None:
    admin = s3_cluster.client("ada")
    admin.create_bucket(Bucket=bucket_name, ACL="public-read")
    s3.put_object(Bucket=bucket_name, Key="kept", Body=b"x")
    again = s3.create_bucket(Bucket=bucket_name)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket_name, Key="kept")["Body"].read() == b"x"
    # "For legacy compatibility ... returns 200 OK and resets the bucket ACLs" (AWS).
    grants = s3.get_bucket_acl(Bucket=bucket_name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    with pytest.raises(ClientError) as exc:  # another account's name is still taken
        s3_cluster.client("bob").create_bucket(Bucket=bucket_name)
    assert _code(exc) == "BucketAlreadyExists"


@pytest.fixture
def eu_west_1(s3_cluster: S3Cluster) -> Iterator[Any]:
    """The S3 app configured for eu-west-1 for one test, and a client signing for it."""
    (state,) = [r.app[STATE] for r in s3_cluster.runners if STATE in r.app]
    state.settings.region = "eu-west-1"
    u = s3_cluster.users["alice"]
    try:
        yield boto3.client(
            "s3", endpoint_url=s3_cluster.endpoint, region_name="eu-west-1",
            aws_access_key_id=u.access, aws_secret_access_key=u.secret,
        )  # fmt: skip
    finally:
        state.settings.region = "us-east-1"


def test_recreating_an_owned_bucket_elsewhere_is_bucket_already_owned_by_you(
    eu_west_1: Any, bucket_name: str
) -> None:
    here = {"LocationConstraint": "eu-west-1"}
    eu_west_1.create_bucket(Bucket=bucket_name, CreateBucketConfiguration=here)
    with pytest.raises(ClientError) as exc:
        eu_west_1.create_bucket(Bucket=bucket_name, CreateBucketConfiguration=here)
    assert _code(exc) == "BucketAlreadyOwnedByYou" and _status(exc) == 409
    with pytest.raises(ClientError) as exc:  # aws-global means us-east-1, not here
        eu_west_1.create_bucket(
            Bucket=bucket_name + "-g",
            CreateBucketConfiguration={"LocationConstraint": "aws-global"},
        )
    assert _code(exc) == "InvalidLocationConstraint"
    assert (
        eu_west_1.list_buckets(BucketRegion="eu-west-1", Prefix=bucket_name)["Buckets"][0][
            "BucketRegion"
        ]
        == "eu-west-1"
    )
    eu_west_1.delete_bucket(Bucket=bucket_name)


def test_location_constraint_aws_global_is_us_east_1(s3: Any, bucket_name: str) -> None:
    """What the aws CLI sends with no region configured (see test_awscli_newcomer)."""
    s3.create_bucket(
        Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": "aws-global"}
    )
    assert s3.get_bucket_location(Bucket=bucket_name)["LocationConstraint"] is None
    head = s3.head_bucket(Bucket=bucket_name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"


# --- ListBuckets ----------------------------------------------------------------------------


def test_list_buckets_pages_and_prefix(s3_cluster: S3Cluster) -> None:
    s3 = s3_cluster.client("bob")
    names = [f"lbpage-{i:02d}" for i in range(5)]
    for name in names:
        s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket="lbother")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"MaxBuckets": 2, "Prefix": "lbpage-"}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_buckets(**kwargs)
        pages += 1
        assert page["Prefix"] == "lbpage-"
        assert len(page["Buckets"]) <= 2
        assert all(b["BucketRegion"] == "us-east-1" for b in page["Buckets"])
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if not token:
            break
    assert seen == names and pages == 3
    everything = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "lbother" in everything and "ContinuationToken" not in s3.list_buckets()
    region = s3.list_buckets(BucketRegion="us-east-1", Prefix="lbother")
    assert [b["Name"] for b in region["Buckets"]] == ["lbother"]
    assert s3.list_buckets(BucketRegion="eu-west-1")["Buckets"] == []
    unchecked = s3_cluster.client("bob", parameter_validation=False)
    for bad in (0, 10001):
        with pytest.raises(ClientError) as exc:
            unchecked.list_buckets(MaxBuckets=bad)
        assert _code(exc) == "InvalidArgument"
    with pytest.raises(ClientError) as exc:
        s3.list_buckets(ContinuationToken="not a token")
    assert _code(exc) == "InvalidArgument"


# --- conditional writes ---------------------------------------------------------------------


def test_put_object_if_match_and_if_none_match(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(
            Bucket=bucket, Key="k", Body=b"1", IfMatch='"0123456789abcdef0123456789abcdef"'
        )
    assert _code(exc) == "NoSuchKey" and _status(exc) == 404
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert _code(exc) == "PreconditionFailed" and _status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.put_object(
            Bucket=bucket, Key="k", Body=b"2", IfMatch='"0123456789abcdef0123456789abcdef"'
        )
    assert _code(exc) == "PreconditionFailed" and _status(exc) == 412
    s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"2"


def _upload(s3: Any, bucket: str, key: str) -> tuple[str, list[dict[str, Any]]]:
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"part")["ETag"]
    return uid, [{"PartNumber": 1, "ETag": etag}]


def test_complete_multipart_upload_if_none_match_and_if_match(s3: Any, bucket: str) -> None:
    uid, parts = _upload(s3, bucket, "m")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": parts},
            IfMatch='"0123456789abcdef0123456789abcdef"',
        )  # fmt: skip
    assert _code(exc) == "NoSuchKey" and _status(exc) == 404
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
    )
    # A retry with the same parts answers as the first did; another part list: NoSuchUpload.
    retry = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
    )
    assert retry["ETag"] == done["ETag"]
    other = [{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": other}
        )
    assert _code(exc) == "NoSuchUpload" and _status(exc) == 404
    uid2, parts2 = _upload(s3, bucket, "m")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=uid2, MultipartUpload={"Parts": parts2},
            IfNoneMatch="*",
        )  # fmt: skip
    assert _code(exc) == "PreconditionFailed" and _status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=uid2, MultipartUpload={"Parts": parts2},
            IfMatch='"0123456789abcdef0123456789abcdef"',
        )  # fmt: skip
    assert _code(exc) == "PreconditionFailed"
    # The upload survives a failed condition and completes when the condition holds.
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=uid2, MultipartUpload={"Parts": parts2},
        IfMatch=done["ETag"],
    )  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="m")["ETag"] == again["ETag"]


# --- presigned URL lifetimes ----------------------------------------------------------------


def _with_expires(url: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, value if k == "X-Amz-Expires" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_presigned_expires_bounds(s3_cluster: S3Cluster, bucket: str) -> None:
    s3 = s3_cluster.client(signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="p", Body=b"body")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=604800
    )
    assert _fetch(url) == (200, b"body")
    cases = {
        "604801": ("AuthorizationQueryParametersError", "must be less than a week"),
        "-1": ("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative"),
        "1.5": ("AuthorizationQueryParametersError", "X-Amz-Expires should be a number"),
        "abc": ("AuthorizationQueryParametersError", "X-Amz-Expires should be a number"),
        "0": ("AccessDenied", "Request has expired"),
    }
    for value, (code, message) in cases.items():
        signed = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60
        )
        status, body = _fetch(_with_expires(signed, value))
        assert status in (400, 403), (value, status, body)
        assert f"<Code>{code}</Code>".encode() in body, (value, body)
        assert message.encode() in body, (value, body)


# --- user metadata --------------------------------------------------------------------------


def _native_meta(cluster: S3Cluster, bucket: str, key: str) -> dict[str, str]:
    async def head() -> dict[str, str]:
        return dict((await cluster.core.head_object("AUTH_alpha", bucket, key)).user)

    return cluster.run(head())


def test_metadata_unicode_is_rfc2047_on_the_wire_and_utf8_stored(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    """AWS decodes RFC 2047 values before storing and encodes non-ASCII ones when answering."""
    encoded = "=?UTF-8?B?w6l0w6kg4pyI?="  # "été ✈"
    s3.put_object(Bucket=bucket, Key="u", Body=b"x", Metadata={"v": encoded, "plain": "a b"})
    head = s3.head_object(Bucket=bucket, Key="u")
    assert head["Metadata"] == {"v": encoded, "plain": "a b"}
    assert _native_meta(s3_cluster, bucket, "u") == {"v": "été ✈", "plain": "a b"}
    # Q-encoding is decoded too, and answered in the B form; an ASCII result is plain.
    s3.put_object(Bucket=bucket, Key="q", Body=b"x", Metadata={"v": "=?utf-8?q?caf=C3=A9?="})
    assert s3.head_object(Bucket=bucket, Key="q")["Metadata"] == {"v": "=?UTF-8?B?Y2Fmw6k=?="}
    s3.put_object(Bucket=bucket, Key="a", Body=b"x", Metadata={"v": "=?UTF-8?B?YWJj?="})
    assert s3.get_object(Bucket=bucket, Key="a")["Metadata"] == {"v": "abc"}
    # A raw UTF-8 header value (which boto3 refuses to send) is stored and answered encoded.
    u = s3_cluster.users["alice"]
    host = f"127.0.0.1:{s3_cluster.port}"
    signed = rawsign.sign(
        "PUT", host, f"/{bucket}/raw", u.access, u.secret,
        headers={"x-amz-meta-v": "été"}, payload_hash=rawsign.EMPTY,
    )  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", s3_cluster.port, timeout=30)
    conn.putrequest("PUT", f"/{bucket}/raw", skip_host=True)
    for name, value in {**signed.headers, "content-length": "0"}.items():
        conn.putheader(name, value.encode())
    conn.endheaders()
    assert conn.getresponse().status == 200
    conn.close()
    assert s3.head_object(Bucket=bucket, Key="raw")["Metadata"] == {"v": "=?UTF-8?B?w6l0w6k=?="}


def test_metadata_empty_values_and_copy_directives(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Metadata={"empty": "", "full": "1"})
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"empty": "", "full": "1"}
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=source, Metadata={"ignored": "x"})
    assert s3.head_object(Bucket=bucket, Key="copied")["Metadata"] == {"empty": "", "full": "1"}
    s3.copy_object(
        Bucket=bucket, Key="replaced", CopySource=source, MetadataDirective="REPLACE",
        Metadata={"new": "=?UTF-8?B?w6k=?=", "blank": ""},
    )  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="replaced")["Metadata"] == {
        "new": "=?UTF-8?B?w6k=?=",
        "blank": "",
    }
    s3.copy_object(Bucket=bucket, Key="bare", CopySource=source, MetadataDirective="REPLACE")
    assert s3.head_object(Bucket=bucket, Key="bare")["Metadata"] == {}
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"e": ""})["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"p")["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="mp")["Metadata"] == {"e": ""}


def test_a_native_post_ends_the_empty_items(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    """Swift's POST replaces the user metadata: S3's empty items must not outlive it."""
    s3.put_object(Bucket=bucket, Key="p", Body=b"x", Metadata={"empty": "", "full": "1"})

    async def native_post() -> None:
        meta = ObjectMetadata(user={"other": "2"})
        await s3_cluster.core.post_object("AUTH_alpha", bucket, "p", meta)

    s3_cluster.run(native_post())
    assert s3.head_object(Bucket=bucket, Key="p")["Metadata"] == {"other": "2"}


# --- Expect: 100-continue -------------------------------------------------------------------


def _expect_put(
    cluster: S3Cluster, path: str, body: bytes, *, user: str = "alice", secret: str | None = None
) -> tuple[bytes, bytes]:
    """PUT with ``Expect: 100-continue``: (what the server says before the body, the rest).

    The body is sent only on a ``100 Continue``, as a client waiting for it does.
    """
    u = cluster.users[user]
    host = f"127.0.0.1:{cluster.port}"
    signed = rawsign.sign(
        "PUT", host, path, u.access, secret or u.secret,
        headers={"expect": "100-continue"}, payload_hash="UNSIGNED-PAYLOAD",
    )  # fmt: skip
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in {**signed.headers, "content-length": str(len(body))}.items()
    )
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n")
        first = sock.recv(65536)
        if not first.startswith(b"HTTP/1.1 100 "):
            return first, b""
        sock.sendall(body)
        rest = b""
        while b"\r\n\r\n" not in rest or not re.search(rb"HTTP/1.1 \d{3}", rest):
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return first, rest


def test_expect_100_continue(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    body = b"z" * MiB
    first, rest = _expect_put(s3_cluster, f"/{bucket}/e", body)
    assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert re.match(rb"HTTP/1.1 200 ", first[len(b"HTTP/1.1 100 Continue\r\n\r\n") :] + rest)
    assert s3.get_object(Bucket=bucket, Key="e")["Body"].read() == body
    # Refusals come at once, instead of the 100, and the body is never sent.
    first, _ = _expect_put(s3_cluster, "/no-such-bucket-expect/e", body)
    assert first.startswith(b"HTTP/1.1 404 ") and b"<Code>NoSuchBucket</Code>" in first
    first, _ = _expect_put(s3_cluster, f"/{bucket}/e", body, secret="wrong")
    assert first.startswith(b"HTTP/1.1 403 ") and b"SignatureDoesNotMatch" in first
    first, _ = _expect_put(s3_cluster, f"/{bucket}/e", body, user="bob")  # another project
    assert first.startswith(b"HTTP/1.1 403 ") and b"<Code>AccessDenied</Code>" in first


# --- ListMultipartUploads owners, aws-chunked Content-Encoding ------------------------------


def test_list_multipart_uploads_owner_and_initiator(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="up")["UploadId"]
    (upload,) = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert upload["UploadId"] == uid
    # The owner is the project (the canonical id); the initiator is the user who started it,
    # as AWS names the IAM user who initiated an upload.
    owner = {"ID": "alpha", "DisplayName": "alpha"}
    initiator = {"ID": "alpha:alice", "DisplayName": "alice"}
    assert upload["Owner"] == owner and upload["Initiator"] == initiator
    parts = s3.list_parts(Bucket=bucket, Key="up", UploadId=uid)
    assert parts["Owner"] == owner and parts["Initiator"] == initiator


def _chunked_put(cluster: S3Cluster, path: str, data: bytes, encoding: str) -> int:
    u = cluster.users["alice"]
    host = f"127.0.0.1:{cluster.port}"
    signed = rawsign.sign(
        "PUT", host, path, u.access, u.secret,
        headers={"content-encoding": encoding, "x-amz-decoded-content-length": str(len(data))},
        payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    )  # fmt: skip
    body = rawsign.chunked_body(signed, data, 8192)
    headers = {**signed.headers, "content-length": str(len(body))}
    status, _h, _reply = rawsign.send(cluster.port, "PUT", path, headers, body)
    return status


def test_aws_chunked_is_not_a_stored_content_encoding(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    data = b"compressed, say" * 100
    assert _chunked_put(s3_cluster, f"/{bucket}/gz", data, "aws-chunked,gzip") == 200
    assert _chunked_put(s3_cluster, f"/{bucket}/plain", data, "aws-chunked") == 200
    gz = s3.head_object(Bucket=bucket, Key="gz")
    assert gz["ContentEncoding"] == "gzip" and gz["ContentLength"] == len(data)
    plain = s3.head_object(Bucket=bucket, Key="plain")
    assert "ContentEncoding" not in plain and plain["ContentLength"] == len(data)
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == data
    # A body sent whole keeps the Content-Encoding it was given.
    s3.put_object(Bucket=bucket, Key="whole", Body=b"x", ContentEncoding="gzip")
    assert s3.head_object(Bucket=bucket, Key="whole")["ContentEncoding"] == "gzip"
