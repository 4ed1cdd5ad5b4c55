"""Browser uploads against `stratus up`: boto3's own generate_presigned_post, the form
posted by `requests` as a browser would (fields, then the file), and
x-amz-expected-bucket-owner through boto3's ExpectedBucketOwner."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.e2e.s3compat.conftest import S3Up


@pytest.fixture(scope="module")
def client(s3_up: S3Up) -> Any:
    return s3_up.client()


@pytest.fixture
def bucket(client: Any) -> str:
    name = f"post-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


def _post(presigned: dict[str, Any], data: bytes, name: str = "photo.jpg", **kw: Any) -> Any:
    return requests.post(
        presigned["url"],
        data=presigned["fields"],
        files={"file": (name, data, "image/jpeg")},
        allow_redirects=False,
        timeout=60,
        **kw,
    )


def _error(resp: Any) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(resp.content)}


def test_presigned_post_sigv4(client: Any, bucket: str) -> None:
    data = b"\x89PNG" + bytes(range(256)) * 4096  # 1 MiB
    presigned = client.generate_presigned_post(
        bucket,
        "photos/${filename}",
        Fields={"Content-Type": "image/jpeg", "success_action_status": "201"},
        Conditions=[
            ["starts-with", "$Content-Type", "image/"],
            {"success_action_status": "201"},
            ["content-length-range", 1, 2 * 1024 * 1024],
        ],
        ExpiresIn=300,
    )
    resp = _post(presigned, data, "C:\\fakepath\\cat.jpg")
    assert resp.status_code == 201, resp.text
    root = ElementTree.fromstring(resp.content)
    assert root.findtext("Key") == "photos/cat.jpg"
    assert root.findtext("Bucket") == bucket
    assert root.findtext("ETag") == f'"{hashlib.md5(data).hexdigest()}"'
    got = client.get_object(Bucket=bucket, Key="photos/cat.jpg")
    assert got["Body"].read() == data
    assert got["ContentType"] == "image/jpeg"


def test_presigned_post_sigv2_and_virtual_host(s3_up: S3Up, bucket: str) -> None:
    v2 = boto3.client(
        "s3",
        endpoint_url=s3_up.endpoint,
        aws_access_key_id=s3_up.access,
        aws_secret_access_key=s3_up.secret,
        region_name="us-east-1",
        config=BotoConfig(signature_version="s3"),
    )
    presigned = v2.generate_presigned_post(bucket, "v2.txt")
    assert "AWSAccessKeyId" in presigned["fields"] and "signature" in presigned["fields"]
    assert _post(presigned, b"v2 body").status_code == 204
    virtual = s3_up.client(style="virtual")
    presigned = virtual.generate_presigned_post(bucket, "vhost.txt")
    assert urlsplit(presigned["url"]).hostname == f"{bucket}.s3.e2e.test"
    resp = _post(presigned, b"vhost body", proxies={"http": s3_up.endpoint})
    assert resp.status_code == 204, resp.text
    assert resp.headers["Location"].endswith("/vhost.txt")
    plain = s3_up.client()
    assert plain.get_object(Bucket=bucket, Key="v2.txt")["Body"].read() == b"v2 body"
    assert plain.get_object(Bucket=bucket, Key="vhost.txt")["Body"].read() == b"vhost body"


def test_presigned_post_refusals(client: Any, bucket: str) -> None:
    limited = client.generate_presigned_post(
        bucket, "small", Conditions=[["content-length-range", 1, 10]]
    )
    resp = _post(limited, b"x" * 11)
    assert (resp.status_code, _error(resp)["Code"]) == (400, "EntityTooLarge")
    assert _error(resp)["MaxSizeAllowed"] == "10"
    resp = _post(limited, b"")
    assert (resp.status_code, _error(resp)["Code"]) == (400, "EntityTooSmall")
    expired = client.generate_presigned_post(bucket, "late", ExpiresIn=-60)
    resp = _post(expired, b"x")
    assert resp.status_code == 403
    assert _error(resp)["Message"] == "Invalid according to Policy: Policy expired."
    # The browser adds a field the policy does not allow, or changes the key.
    ok = client.generate_presigned_post(bucket, "fixed")
    resp = requests.post(
        ok["url"],
        data={**ok["fields"], "x-amz-meta-sneaky": "1"},
        files={"file": ("f", b"x")},
        timeout=30,
    )
    assert resp.status_code == 403
    assert _error(resp)["Message"].endswith("Extra input fields: x-amz-meta-sneaky")
    resp = requests.post(
        ok["url"], data={**ok["fields"], "key": "elsewhere"}, files={"file": b"x"}, timeout=30
    )
    assert resp.status_code == 403
    assert "Policy Condition failed" in _error(resp)["Message"]
    for key in ("small", "late", "fixed", "elsewhere"):
        with pytest.raises(ClientError):
            client.head_object(Bucket=bucket, Key=key)


def test_presigned_post_redirect(client: Any, bucket: str) -> None:
    target = "https://app.example.test/uploaded?from=form"
    presigned = client.generate_presigned_post(
        bucket,
        "r/${filename}",
        Fields={"success_action_redirect": target},
        Conditions=[{"success_action_redirect": target}],
    )
    resp = _post(presigned, b"redirected", "doc.txt")
    assert resp.status_code == 303, resp.text
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["from"] == ["form"]
    assert query["bucket"] == [bucket]
    assert query["key"] == ["r/doc.txt"]
    assert query["etag"] == [f'"{hashlib.md5(b"redirected").hexdigest()}"']


def test_expected_bucket_owner(client: Any, bucket: str) -> None:
    owner = client.list_buckets()["Owner"]["ID"]
    client.put_object(Bucket=bucket, Key="k", Body=b"v", ExpectedBucketOwner=owner)
    got = client.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=owner)
    assert got["Body"].read() == b"v"
    client.head_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
    listed = client.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=owner)
    assert [o["Key"] for o in listed["Contents"]] == ["k"]
    other = owner + "-not"
    for call in (
        lambda: client.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner=other),
        lambda: client.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=other),
        lambda: client.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=other),
        lambda: client.delete_object(Bucket=bucket, Key="k", ExpectedBucketOwner=other),
        lambda: client.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": []}, ExpectedBucketOwner=other
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        client.head_bucket(Bucket=bucket, ExpectedBucketOwner=other)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
