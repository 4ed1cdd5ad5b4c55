"""Details AWS's documentation fixes and S3 tools rely on (issue 16, "correctness details"):
re-creating an owned bucket, ListBuckets pages, conditional writes on PutObject and
CompleteMultipartUpload, presigned URL lifetimes, user metadata (RFC 2047, empty values,
copies), ``Expect: 100-continue``, ListMultipartUploads owners, aws-chunked Content-Encoding.
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from botocore.exceptions import ClientError

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
        s3.put_object(Bucket=bucket, Key="k", Body=b"1", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert _code(exc) == "NoSuchKey" and _status(exc) == 404
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert _code(exc) == "PreconditionFailed" and _status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfMatch='"0123456789abcdef0123456789abcdef"')
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
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=604800)
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
