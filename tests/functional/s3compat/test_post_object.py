"""POST Object: HTML form uploads with SigV4 and SigV2 POST policies, and anonymous ones.

Forms are built here byte by byte (the order of the parts matters: the file
is last) and signed with this file's own HMACs, written from AWS's pages,
so the server's signing code is not used to sign what it verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
import requests
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import S3Cluster

Part = tuple[str, str | bytes, str | None]  # (name, value, filename or None)


def multipart(parts: list[Part], boundary: str | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body with the parts in this order."""
    boundary = boundary or uuid.uuid4().hex
    out = bytearray()
    for name, value, filename in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n\r\n".encode()
        out += value if isinstance(value, bytes) else value.encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _policy(conditions: list[Any], expires: datetime) -> str:
    doc = {"expiration": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "conditions": conditions}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def v4_fields(
    cluster: S3Cluster,
    user: str,
    conditions: list[Any],
    *,
    expires_in: float = 600,
    when: datetime | None = None,
    region: str = "us-east-1",
    policy: str | None = None,
) -> dict[str, str]:
    """The signature fields of a SigV4 form, its own fields covered by ``conditions``."""
    u = cluster.users[user]
    when = when or datetime.now(UTC)
    date = when.strftime("%Y%m%d")
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{u.access}/{date}/{region}/s3/aws4_request"
    auth = [
        {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        {"x-amz-credential": credential},
        {"x-amz-date": amz_date},
    ]
    if policy is None:
        policy = _policy(conditions + auth, when + timedelta(seconds=expires_in))
    key = ("AWS4" + u.secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return {
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": amz_date,
        "policy": policy,
        "x-amz-signature": hmac.new(key, policy.encode(), hashlib.sha256).hexdigest(),
    }


def v2_fields(cluster: S3Cluster, user: str, conditions: list[Any]) -> dict[str, str]:
    u = cluster.users[user]
    policy = _policy(conditions, datetime.now(UTC) + timedelta(minutes=10))
    digest = hmac.new(u.secret.encode(), policy.encode(), hashlib.sha1).digest()
    return {
        "AWSAccessKeyId": u.access,
        "policy": policy,
        "signature": base64.b64encode(digest).decode(),
    }


def post(
    cluster: S3Cluster,
    bucket: str,
    fields: dict[str, str] | list[tuple[str, str]],
    data: bytes = b"hello form",
    *,
    filename: str | None = "file.txt",
    after: list[Part] | None = None,
) -> requests.Response:
    items = list(fields.items()) if isinstance(fields, dict) else fields
    parts: list[Part] = [(k, v, None) for k, v in items]
    parts.append(("file", data, filename))
    body, ctype = multipart(parts + (after or []))
    return requests.post(
        f"{cluster.endpoint}/{bucket}",
        data=body,
        headers={"Content-Type": ctype},
        allow_redirects=False,
        timeout=30,
    )


def error(resp: requests.Response) -> dict[str, str]:
    root = ElementTree.fromstring(resp.content)
    return {child.tag: child.text or "" for child in root}


def _basic(bucket: str, key: str = "k") -> list[Any]:
    return [{"bucket": bucket}, {"key": key}]


def test_sigv4_form_stores_the_file(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    data = b"form bytes " * 1000
    fields = {"key": "dir/a b.txt", **v4_fields(s3_cluster, "alice", _basic(bucket, "dir/a b.txt"))}
    resp = post(s3_cluster, bucket, fields, data)
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    etag = hashlib.md5(data).hexdigest()
    assert resp.headers["ETag"] == f'"{etag}"'
    assert resp.headers["Location"] == f"{s3_cluster.endpoint}/{bucket}/dir%2Fa%20b.txt"
    got = s3.get_object(Bucket=bucket, Key="dir/a b.txt")
    assert got["Body"].read() == data
    assert got["ContentType"] == "binary/octet-stream"


def test_boto3_presigned_post_streams_a_large_file(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    data = bytes(range(256)) * (12 * 4096)  # 12 MiB: past the core's buffer, streamed
    presigned = s3.generate_presigned_post(
        bucket, "big/${filename}", Conditions=[["content-length-range", 1, 20 * 1024 * 1024]]
    )
    resp = requests.post(
        presigned["url"],
        data=presigned["fields"],
        files={"file": ("C:\\Users\\me\\photo.bin", data)},
        timeout=60,
    )
    assert resp.status_code == 204, resp.text
    body = s3.get_object(Bucket=bucket, Key="big/photo.bin")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_success_action_status(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    for status, expected in (("201", 201), ("200", 200), ("404", 204)):
        conditions = [*_basic(bucket), {"success_action_status": status}]
        fields = {
            "key": "k",
            "success_action_status": status,
            **v4_fields(s3_cluster, "alice", conditions),
        }
        resp = post(s3_cluster, bucket, fields, b"x")
        assert resp.status_code == expected, resp.text
        if expected != 201:
            assert resp.content == b""
            continue
        assert resp.headers["Content-Type"] == "application/xml"
        root = ElementTree.fromstring(resp.content)
        assert root.tag == "PostResponse"  # no namespace, as AWS
        assert root.findtext("Bucket") == bucket
        assert root.findtext("Key") == "k"
        assert root.findtext("ETag") == f'"{hashlib.md5(b"x").hexdigest()}"'
        assert root.findtext("Location") == f"{s3_cluster.endpoint}/{bucket}/k"


def test_success_action_redirect(s3_cluster: S3Cluster, bucket: str) -> None:
    for target in ("https://example.test/done", "https://example.test/done?x=1"):
        conditions = [
            {"bucket": bucket},
            ["starts-with", "$key", "up/"],
            ["starts-with", "$success_action_redirect", "https://example.test/"],
        ]
        fields = {
            "key": "up/a b",
            "success_action_redirect": target,
            **v4_fields(s3_cluster, "alice", conditions),
        }
        resp = post(s3_cluster, bucket, fields, b"x")
        assert resp.status_code == 303, resp.text
        location = resp.headers["Location"]
        assert location.startswith(target + ("&" if "?" in target else "?"))
        query = parse_qs(urlsplit(location).query)
        assert query["bucket"] == [bucket]
        assert query["key"] == ["up/a b"]
        assert query["etag"] == [f'"{hashlib.md5(b"x").hexdigest()}"']
        assert "key=up%2Fa+b" in location
    # The older field name, and a URL S3 cannot interpret (ignored: 204).
    for name, target, status in (
        ("redirect", "http://example.test/", 303),
        ("redirect", "/rel", 204),
    ):
        conditions = [*_basic(bucket), {name: target}]
        fields = {"key": "k", name: target, **v4_fields(s3_cluster, "alice", conditions)}
        assert post(s3_cluster, bucket, fields).status_code == status


def test_metadata_content_type_tagging_and_acl_fields(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    tagging = (
        "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
        "<Tag><Key>b</Key><Value>2</Value></Tag></TagSet></Tagging>"
    )
    form = {
        "key": "m",
        "Content-Type": "text/plain",
        "Cache-Control": "max-age=60",
        "x-amz-meta-Color": "blue",
        "tagging": tagging,
        "acl": "private",
        "x-amz-storage-class": "STANDARD_IA",
    }
    conditions = [
        *_basic(bucket, "m"),
        ["starts-with", "$content-type", "text/"],
        ["eq", "$Cache-Control", "max-age=60"],
        ["starts-with", "$x-amz-meta-color", "bl"],
        ["starts-with", "$tagging", ""],
        {"acl": "private"},
        {"x-amz-storage-class": "STANDARD_IA"},
    ]
    resp = post(s3_cluster, bucket, {**form, **v4_fields(s3_cluster, "alice", conditions)})
    assert resp.status_code == 204, resp.text
    head = s3.head_object(Bucket=bucket, Key="m")
    assert head["ContentType"] == "text/plain"
    assert head["CacheControl"] == "max-age=60"
    assert head["Metadata"] == {"color": "blue"}
    assert head["StorageClass"] == "STANDARD_IA"
    tags = s3.get_object_tagging(Bucket=bucket, Key="m")["TagSet"]
    assert tags == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]


def test_every_field_must_be_covered(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    signed = v4_fields(s3_cluster, "alice", _basic(bucket))
    resp = post(s3_cluster, bucket, {"key": "k", "x-amz-meta-foo": "1", "Tag": "x", **signed})
    assert resp.status_code == 403
    assert error(resp)["Code"] == "AccessDenied"
    assert error(resp)["Message"] == (
        "Invalid according to Policy: Extra input fields: x-amz-meta-foo, Tag"
    )
    # x-ignore-* fields and fields after the file are not the policy's business.
    after: list[Part] = [("submit", "Upload", None), ("x-amz-meta-late", "1", None)]
    resp = post(s3_cluster, bucket, {"key": "k", "x-ignore-me": "1", **signed}, after=after)
    assert resp.status_code == 204, resp.text
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {}


@pytest.mark.parametrize(
    ("condition", "form", "shown"),
    [
        ({"key": "other"}, {"key": "k"}, '["eq", "$key", "other"]'),
        (["starts-with", "$key", "up/"], {"key": "k"}, '["starts-with", "$key", "up/"]'),
        (
            ["starts-with", "$Content-Type", "image/"],
            {"key": "k", "Content-Type": "image/png,text/plain"},
            '["starts-with", "$Content-Type", "image/"]',
        ),
        (
            ["starts-with", "$x-amz-meta-absent", ""],
            {"key": "k"},
            '["starts-with", "$x-amz-meta-absent", ""]',
        ),
        (["eq", "key", "k"], {"key": "k"}, '["eq", "key", "k"]'),
        (
            ["content-length-range", "test", "10"],
            {"key": "k"},
            '["content-length-range", "test", "10"]',
        ),
    ],
)
def test_a_failed_condition_is_named(
    s3_cluster: S3Cluster, bucket: str, condition: Any, form: dict[str, str], shown: str
) -> None:
    conditions = [{"bucket": bucket}, ["starts-with", "$key", ""], condition]
    if "Content-Type" in form:
        conditions.append(["starts-with", "$content-type", ""])
    resp = post(s3_cluster, bucket, {**form, **v4_fields(s3_cluster, "alice", conditions)})
    assert resp.status_code == 403, resp.text
    assert error(resp)["Code"] == "AccessDenied"
    assert (
        error(resp)["Message"] == f"Invalid according to Policy: Policy Condition failed: {shown}"
    )


def test_content_type_list_and_case_insensitive_names(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    conditions = [
        {"bUcKeT": bucket},
        ["StArTs-WiTh", "$KeY", "k"],
        ["starts-with", "$Content-Type", "image/"],
    ]
    signed = v4_fields(s3_cluster, "alice", conditions)
    renamed = {name.upper() if name != "policy" else "Policy": v for name, v in signed.items()}
    resp = post(
        s3_cluster, bucket, {"kEy": "k2", "Content-Type": "image/png, image/gif", **renamed}
    )
    assert resp.status_code == 204, resp.text
    assert s3.head_object(Bucket=bucket, Key="k2")["ContentType"] == "image/png, image/gif"


def test_content_length_range(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    conditions = [*_basic(bucket), ["content-length-range", 5, 10]]
    signed = {"key": "k", **v4_fields(s3_cluster, "alice", conditions)}
    resp = post(s3_cluster, bucket, signed, b"x" * 12)
    assert resp.status_code == 400
    assert error(resp) | {"RequestId": ""} == error(resp) | {
        "Code": "EntityTooLarge",
        "Message": "Your proposed upload exceeds the maximum allowed size",
        "ProposedSize": "12",
        "MaxSizeAllowed": "10",
        "RequestId": "",
    }
    resp = post(s3_cluster, bucket, signed, b"x")
    assert resp.status_code == 400
    err = error(resp)
    assert (err["Code"], err["ProposedSize"], err["MinSizeAllowed"]) == ("EntityTooSmall", "1", "5")
    assert err["Message"] == "Your proposed upload is smaller than the minimum allowed size"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")  # nothing stored
    for size in (5, 10):
        assert post(s3_cluster, bucket, signed, b"y" * size).status_code == 204
    # A file larger than the core's buffer, past the maximum: refused while it streams.
    big = [*_basic(bucket, "big"), ["content-length-range", "0", str(3 * 1024 * 1024)]]
    resp = post(
        s3_cluster,
        bucket,
        {"key": "big", **v4_fields(s3_cluster, "alice", big)},
        b"z" * (5 * 1024 * 1024),
    )
    assert resp.status_code == 400
    assert error(resp)["ProposedSize"] == str(5 * 1024 * 1024)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="big")


def test_expired_and_tampered_policies(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    old = datetime.now(UTC) - timedelta(hours=2)
    signed = v4_fields(s3_cluster, "alice", _basic(bucket), when=old, expires_in=3600)
    resp = post(s3_cluster, bucket, {"key": "k", **signed})
    assert resp.status_code == 403
    assert error(resp)["Message"] == "Invalid according to Policy: Policy expired."
    # A signing key lives a week: a form signed longer ago is expired whatever it says.
    older = datetime.now(UTC) - timedelta(days=8)
    signed = v4_fields(s3_cluster, "alice", _basic(bucket), when=older, expires_in=86400 * 30)
    assert post(s3_cluster, bucket, {"key": "k", **signed}).status_code == 403
    # The policy changed after signing: widened to any key.
    signed = v4_fields(s3_cluster, "alice", _basic(bucket))
    doc = json.loads(base64.b64decode(signed["policy"]))
    doc["conditions"][1] = ["starts-with", "$key", ""]
    tampered = base64.b64encode(json.dumps(doc).encode()).decode()
    resp = post(s3_cluster, bucket, {"key": "other", **signed, "policy": tampered})
    assert resp.status_code == 403
    err = error(resp)
    assert err["Code"] == "SignatureDoesNotMatch"
    assert err["StringToSign"] == tampered
    assert err["SignatureProvided"] == signed["x-amz-signature"]
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="other")
    # A key nobody has, and another region's credential.
    resp = post(s3_cluster, bucket, {"key": "k", **signed, "x-amz-credential": "nobody/x"})
    assert error(resp)["Code"] == "InvalidArgument"
    unknown = signed["x-amz-credential"].replace(s3_cluster.users["alice"].access, "AKIDNOBODY")
    resp = post(s3_cluster, bucket, {"key": "k", **signed, "x-amz-credential": unknown})
    assert (resp.status_code, error(resp)["Code"]) == (403, "InvalidAccessKeyId")
    wrong = v4_fields(s3_cluster, "alice", _basic(bucket), region="eu-west-1")
    resp = post(s3_cluster, bucket, {"key": "k", **wrong})
    assert resp.status_code == 400
    err = error(resp)
    assert (err["Code"], err["ArgumentName"], err["Region"]) == (
        "InvalidArgument",
        "X-Amz-Credential",
        "us-east-1",
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"conditions": []}, "Invalid Policy: Policy missing expiration."),
        ({"expiration": "2099-01-01T00:00:00Z"}, "Invalid Policy: Policy missing conditions."),
        (
            {"expiration": "2099-01-01T00:00:00Z", "CONDITIONS": []},
            "Invalid Policy: Unexpected: 'conditions'",
        ),
        (
            {"expiration": "2099-01-01 00:00:00", "conditions": []},
            "Invalid Policy: Invalid 'expiration' value: '2099-01-01 00:00:00'",
        ),
        (
            {"expiration": "2099-01-01T00:00:00Z", "conditions": [{}]},
            "Invalid Policy: Invalid Simple-Condition: "
            "Simple-Conditions must have exactly one property specified.",
        ),
        (
            {"expiration": "2099-01-01T00:00:00Z", "conditions": [["content-length-range", 0]]},
            "Invalid Policy: Invalid content-length-range: wrong number of arguments.",
        ),
        (
            {
                "expiration": "2099-01-01T00:00:00Z",
                "conditions": [["content-length-range", 0, 1.5]],
            },
            "Invalid Policy: Invalid JSON.",
        ),
        (
            {"expiration": "2099-01-01T00:00:00Z", "conditions": [["matches", "$key", "k"]]},
            "Invalid Policy: Invalid Condition: unknown operation 'matches'.",
        ),
        (
            {"expiration": "2099-01-01T00:00:00Z", "conditions": [{"key": 5}]},
            "Invalid Policy: Invalid Simple-Condition: value must be a string.",
        ),
        ("not json", "Invalid Policy: Invalid JSON."),
    ],
)
def test_policies_s3_cannot_read(
    s3_cluster: S3Cluster, bucket: str, doc: Any, message: str
) -> None:
    raw = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()
    policy = base64.b64encode(raw).decode()
    resp = post(
        s3_cluster, bucket, {"key": "k", **v4_fields(s3_cluster, "alice", [], policy=policy)}
    )
    assert resp.status_code == 400, resp.text
    assert error(resp)["Code"] == "InvalidPolicyDocument"
    assert error(resp)["Message"] == message


def test_form_shape_errors(s3_cluster: S3Cluster, bucket: str) -> None:
    signed = v4_fields(s3_cluster, "alice", _basic(bucket))
    # The signature missing: named as AWS names it.
    resp = post(
        s3_cluster,
        bucket,
        {"key": "k", **{k: v for k, v in signed.items() if k != "x-amz-signature"}},
    )
    assert resp.status_code == 400
    assert error(resp) | {"RequestId": ""} == error(resp) | {
        "Code": "InvalidArgument",
        "Message": "Bucket POST must contain a field named 'X-Amz-Signature'.  "
        "If it is specified, please check the order of the fields.",
        "ArgumentName": "X-Amz-Signature",
        "ArgumentValue": "",
        "RequestId": "",
    }
    # The key after the file is no key.
    resp = post(s3_cluster, bucket, signed, after=[("key", "k", None)])
    assert (resp.status_code, error(resp)["ArgumentName"]) == (400, "key")
    # No file at all.
    body, ctype = multipart([("key", "k", None), *[(k, v, None) for k, v in signed.items()]])
    resp = requests.post(
        f"{s3_cluster.endpoint}/{bucket}", data=body, headers={"Content-Type": ctype}, timeout=30
    )
    err = error(resp)
    assert (resp.status_code, err["Code"], err["ArgumentName"], err["ArgumentValue"]) == (
        400,
        "InvalidArgument",
        "file",
        "0",
    )
    assert err["Message"] == "POST requires exactly one file upload per request."
    # Not a form.
    resp = requests.post(f"{s3_cluster.endpoint}/{bucket}", data=b"k=v", timeout=30,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert (resp.status_code, error(resp)["Code"]) == (412, "PreconditionFailed")
    assert (
        error(resp)["Condition"] == "Bucket POST must be of the enclosure-type multipart/form-data"
    )
    # A form whose boundary never comes, and one without a boundary.
    for ctype in ("multipart/form-data; boundary=nope", "multipart/form-data"):
        resp = requests.post(f"{s3_cluster.endpoint}/{bucket}", data=body, timeout=30,
                             headers={"Content-Type": ctype})  # fmt: skip
        assert (resp.status_code, error(resp)["Code"]) == (400, "MalformedPOSTRequest")
    # Fields before the file up to AWS's 20 KB, then past them.
    resp = post(
        s3_cluster, bucket, {"key": "k", "x-ignore-pad": "p" * 17000, **signed}, b"f" * 65536
    )
    assert resp.status_code == 204, resp.text
    resp = post(s3_cluster, bucket, {"key": "k", "x-ignore-pad": "p" * 21000, **signed})
    assert (resp.status_code, error(resp)["Code"]) == (400, "MaxPostPreDataLengthExceeded")
    assert error(resp)["MaxPostPreDataLengthBytes"] == "20480"


def test_wrong_bucket_and_other_projects(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    other = bucket + "-b"
    s3.create_bucket(Bucket=other)
    signed = {"key": "k", **v4_fields(s3_cluster, "alice", _basic(bucket))}
    resp = post(s3_cluster, other, signed)
    assert resp.status_code == 403
    assert error(resp)["Message"] == (
        f'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "{bucket}"]'
    )
    # A valid form signed by another project's user: no write access to this bucket.
    resp = post(s3_cluster, bucket, {"key": "k", **v4_fields(s3_cluster, "bob", _basic(bucket))})
    assert (resp.status_code, error(resp)["Code"]) == (403, "AccessDenied")
    assert error(resp)["Message"] == "Access Denied"
    # A reader may not write through a form either.
    resp = post(s3_cluster, bucket, {"key": "k", **v4_fields(s3_cluster, "reed", _basic(bucket))})
    assert (resp.status_code, error(resp)["Code"]) == (403, "AccessDenied")


def test_sigv2_form(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    conditions = [
        {"bucket": bucket},
        ["starts-with", "$key", "foo"],
        {"acl": "private"},
        ["starts-with", "$Content-Type", "text/plain"],
        ["content-length-range", 0, 1024],
    ]
    signed = v2_fields(s3_cluster, "alice", conditions)
    form = [
        ("key", "foo.txt"),
        ("AWSAccessKeyId", signed["AWSAccessKeyId"]),
        ("acl", "private"),
        ("signature", signed["signature"]),
        ("policy", signed["policy"]),
        ("Content-Type", "text/plain"),
    ]
    resp = post(s3_cluster, bucket, form, b"bar")
    assert resp.status_code == 204, resp.text
    assert s3.get_object(Bucket=bucket, Key="foo.txt")["Body"].read() == b"bar"
    bad = [(k, v[::-1] if k == "signature" else v) for k, v in form]
    resp = post(s3_cluster, bucket, bad, b"bar")
    assert (resp.status_code, error(resp)["Code"]) == (403, "SignatureDoesNotMatch")
    missing = [(k, v) for k, v in form if k != "signature"]
    resp = post(s3_cluster, bucket, missing, b"bar")
    assert (resp.status_code, error(resp)["ArgumentName"]) == (400, "Signature")


def test_anonymous_form_needs_a_public_write_bucket(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    form = {"key": "anon.txt", "Content-Type": "text/plain"}
    resp = post(s3_cluster, bucket, form, b"anon")
    assert (resp.status_code, error(resp)["Code"]) == (403, "AccessDenied")
    # A policy without a signature is no authentication: still anonymous.
    resp = post(s3_cluster, bucket, {**form, "policy": _policy([], datetime.now(UTC))}, b"anon")
    assert resp.status_code == 403
    s3_cluster.client("ada").put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    resp = post(s3_cluster, bucket, {**form, "success_action_status": "201"}, b"anon")
    assert resp.status_code == 201, resp.text
    assert ElementTree.fromstring(resp.content).findtext("Key") == "anon.txt"
    got = s3.get_object(Bucket=bucket, Key="anon.txt")
    assert (got["Body"].read(), got["ContentType"]) == (b"anon", "text/plain")


def test_expected_bucket_owner(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", ExpectedBucketOwner="alpha")
    assert s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner="alpha")["Body"].read() == b"v"
    s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner="alpha")
    s3.head_bucket(Bucket=bucket, ExpectedBucketOwner="alpha")
    s3.copy_object(
        Bucket=bucket,
        Key="k2",
        CopySource={"Bucket": bucket, "Key": "k"},
        ExpectedBucketOwner="alpha",
        ExpectedSourceBucketOwner="alpha",
    )
    for call in (
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner="beta"),
        lambda: s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner="beta"),
        lambda: s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner="beta"),
        lambda: s3.delete_object(Bucket=bucket, Key="k", ExpectedBucketOwner="beta"),
        lambda: s3.get_bucket_acl(Bucket=bucket, ExpectedBucketOwner="beta"),
        lambda: s3.copy_object(
            Bucket=bucket,
            Key="k3",
            CopySource={"Bucket": bucket, "Key": "k"},
            ExpectedSourceBucketOwner="beta",
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner="beta")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"  # nothing changed
