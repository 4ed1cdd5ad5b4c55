"""boto3 against `stratus up`, one operation family per test: the options and
error paths that the tour in test_boto3.py passes over."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import socket
import time
import urllib.error
import urllib.request
import zlib
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.e2e.s3compat.conftest import S3Up
from tests.e2e.s3compat.test_boto3 import _cli

MiB = 1024 * 1024


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _anonymous(s3_up: S3Up) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_up.endpoint,
        region_name="us-east-1",
        config=BotoConfig(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    )


def _empty_and_delete(s3: Any, bucket: str) -> None:
    everything = s3.list_object_versions(Bucket=bucket)
    doomed = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in everything.get("Versions", []) + everything.get("DeleteMarkers", [])
    ]
    if doomed:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def test_bucket_create_location_and_subresources(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-bucket-conf"
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert _code(exc) == "InvalidLocationConstraint"
    s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    # Again in us-east-1: 200, as AWS (BucketAlreadyOwnedByYou in any other region).
    assert s3.create_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"] == 200
    head = s3.head_bucket(Bucket=b)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert "Status" not in s3.get_bucket_versioning(Bucket=b)

    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "storage"}]})
    assert s3.get_bucket_tagging(Bucket=b)["TagSet"] == [{"Key": "team", "Value": "storage"}]
    s3.delete_bucket_tagging(Bucket=b)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=b)
    assert _code(exc) == "NoSuchTagSet"

    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=b)
    assert _code(exc) == "NoSuchLifecycleConfiguration" and _status(exc) == 404
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_accelerate_configuration(Bucket=b)
    assert _code(exc) == "NotImplemented" and _status(exc) == 501
    assert "GetBucketAccelerateConfiguration" in exc.value.response["Error"]["Message"]

    s3.put_object(Bucket=b, Key="keep", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=b)
    assert _code(exc) == "BucketNotEmpty"
    assert s3.get_object(Bucket=b, Key="keep")["Body"].read() == b"x"
    s3.delete_object(Bucket=b, Key="keep")
    s3.delete_bucket(Bucket=b)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=b)
    assert _status(exc) == 404


def test_cors_preflight_and_response_headers(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-cors"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="page", Body=b"hello")
    origin = "https://app.example"
    s3.put_bucket_cors(
        Bucket=b,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [origin],
                    "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["content-type"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )

    def preflight(method: str, from_origin: str = origin) -> tuple[int, dict[str, str]]:
        req = urllib.request.Request(
            f"{s3_up.endpoint}/{b}/page",
            method="OPTIONS",
            headers={
                "Origin": from_origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "content-type",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as err:
            return err.code, {k.lower(): v for k, v in err.headers.items()}

    status, headers = preflight("PUT")
    assert status == 200
    assert headers["access-control-allow-origin"] == origin
    assert "PUT" in headers["access-control-allow-methods"]
    assert headers["access-control-max-age"] == "600"
    assert preflight("DELETE")[0] == 403
    assert preflight("GET", "https://evil.example")[0] == 403

    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "page"})
    req = urllib.request.Request(url, headers={"Origin": origin})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.read() == b"hello"
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert "ETag" in resp.headers["Access-Control-Expose-Headers"]

    s3.delete_bucket_cors(Bucket=b)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=b)
    assert _code(exc) == "NoSuchCORSConfiguration"
    assert preflight("GET")[0] == 403
    _empty_and_delete(s3, b)


def test_bucket_policy_allows_public_reads_and_deny_wins(s3_up: S3Up) -> None:
    s3, anon = s3_up.client(), _anonymous(s3_up)
    b = "e2e-policy"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="public/a", Body=b"open")
    s3.put_object(Bucket=b, Key="private/b", Body=b"closed")
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=b, Key="public/a")
    assert _code(exc) == "AccessDenied"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{b}/public/*",
            },
            {
                "Sid": "NoDeletes",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{b}/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=b)["Policy"]) == policy
    assert anon.get_object(Bucket=b, Key="public/a")["Body"].read() == b"open"
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=b, Key="private/b")
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        anon.put_object(Bucket=b, Key="public/new", Body=b"x")
    assert _code(exc) == "AccessDenied"
    # The explicit Deny stops the owner too, and the object stays.
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=b, Key="private/b")
    assert _code(exc) == "AccessDenied"
    assert s3.get_object(Bucket=b, Key="private/b")["Body"].read() == b"closed"
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=b, Policy="{not json")
    assert _code(exc) == "MalformedPolicy"
    s3.delete_bucket_policy(Bucket=b)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=b)
    assert _code(exc) == "NoSuchBucketPolicy"
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=b, Key="public/a")
    assert _code(exc) == "AccessDenied"
    _empty_and_delete(s3, b)


def test_canned_object_acls(s3_up: S3Up) -> None:
    s3, anon = s3_up.client(), _anonymous(s3_up)
    b = "e2e-acls"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="mine", Body=b"m")
    s3.put_object(Bucket=b, Key="members", Body=b"a", ACL="authenticated-read")
    s3.put_object(Bucket=b, Key="everyone", Body=b"e", ACL="public-read")
    _cli(s3_up, "project", "create", "e2eacl")
    _cli(s3_up, "user", "create", "e2eacl:bob", "--json")
    cred = json.loads(_cli(s3_up, "credentials", "create", "--user", "e2eacl:bob", "--json"))
    bob = s3_up.client(access=cred["access"], secret=cred["secret"])
    assert anon.get_object(Bucket=b, Key="everyone")["Body"].read() == b"e"
    assert bob.get_object(Bucket=b, Key="everyone")["Body"].read() == b"e"
    assert bob.get_object(Bucket=b, Key="members")["Body"].read() == b"a"
    for who, key in ((anon, "members"), (anon, "mine"), (bob, "mine")):
        with pytest.raises(ClientError) as exc:
            who.get_object(Bucket=b, Key=key)
        assert _code(exc) == "AccessDenied"
    grants = s3.get_object_acl(Bucket=b, Key="members")["Grants"]
    assert any(
        g["Grantee"].get("URI", "").endswith("/AuthenticatedUsers") and g["Permission"] == "READ"
        for g in grants
    )
    with pytest.raises(ClientError) as exc:
        bob.put_object_acl(Bucket=b, Key="members", ACL="public-read")
    assert _code(exc) == "AccessDenied"
    _empty_and_delete(s3, b)


def test_listing_pages_start_after_owner_and_url_encoding(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-listing"
    s3.create_bucket(Bucket=b)
    keys = ["a", "b/1", "b/2", "c d", "z", "\u00e9/x"]  # sorted as UTF-8 bytes
    for k in keys:
        s3.put_object(Bucket=b, Key=k, Body=k.encode())

    seen, pages, token = [], 0, None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=b, MaxKeys=2, **kw)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", [])) <= 2
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys and pages == 3

    after = s3.list_objects_v2(Bucket=b, StartAfter="b/2")
    assert [o["Key"] for o in after["Contents"]] == ["c d", "z", "\u00e9/x"]
    assert after["StartAfter"] == "b/2"
    plain = s3.list_objects_v2(Bucket=b)["Contents"][0]
    assert "Owner" not in plain
    owned = s3.list_objects_v2(Bucket=b, FetchOwner=True)["Contents"][0]
    assert owned["Owner"]["ID"]

    # With EncodingType given by the caller, botocore leaves the keys encoded.
    encoded = s3.list_objects_v2(Bucket=b, EncodingType="url")
    assert encoded["EncodingType"] == "url"
    raw = [o["Key"] for o in encoded["Contents"]]
    assert "%C3%A9/x" in raw and "c d" not in raw
    assert [unquote_plus(k) for k in raw] == keys

    # ListObjects (v1): Marker paging, NextMarker with a delimiter, CommonPrefixes.
    names, marker = [], ""
    while True:
        page = s3.list_objects(Bucket=b, Delimiter="/", MaxKeys=2, Marker=marker)
        names += [o["Key"] for o in page.get("Contents", [])]
        names += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert sorted(names) == ["a", "b/", "c d", "z", "\u00e9/"]
    assert [o["Key"] for o in s3.list_objects(Bucket=b, Marker="c d")["Contents"]] == [
        "z",
        "\u00e9/x",
    ]
    _empty_and_delete(s3, b)


def test_conditional_reads_writes_and_response_overrides(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-conditional"
    s3.create_bucket(Bucket=b)
    etag = s3.put_object(Bucket=b, Key="k", Body=b"first", ContentType="text/plain")["ETag"]
    modified = s3.head_object(Bucket=b, Key="k")["LastModified"]
    assert s3.get_object(Bucket=b, Key="k", IfMatch=etag)["Body"].read() == b"first"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=b, Key="k", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert _status(exc) == 412 and _code(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=b, Key="k", IfNoneMatch=etag)
    assert _status(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=b, Key="k", IfModifiedSince=modified)
    assert _status(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=b, Key="k", IfUnmodifiedSince=modified - dt.timedelta(days=1))
    assert _status(exc) == 412
    got = s3.get_object(
        Bucket=b, Key="k", IfModifiedSince=modified - dt.timedelta(days=1),
        ResponseContentType="application/x-override",
        ResponseContentDisposition='attachment; filename="k.txt"',
        ResponseCacheControl="no-store", ResponseContentLanguage="fr",
    )  # fmt: skip
    assert got["Body"].read() == b"first"
    assert got["ContentType"] == "application/x-override"
    assert got["ContentDisposition"] == 'attachment; filename="k.txt"'
    assert got["CacheControl"] == "no-store" and got["ContentLanguage"] == "fr"
    assert s3.head_object(Bucket=b, Key="k")["ContentType"] == "text/plain"  # not stored

    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=b, Key="k", Body=b"clobber", IfNoneMatch="*")
    assert _status(exc) == 412
    s3.put_object(Bucket=b, Key="fresh", Body=b"new", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=b, Key="k", Body=b"clobber", IfMatch='"' + "0" * 32 + '"')
    assert _status(exc) == 412
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"first"
    s3.put_object(Bucket=b, Key="k", Body=b"second", IfMatch=etag)
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"second"
    _empty_and_delete(s3, b)


def test_copy_directives_conditions_and_across_buckets(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    src, dst = "e2e-copy-src", "e2e-copy-dst"
    s3.create_bucket(Bucket=src)
    s3.create_bucket(Bucket=dst)
    etag = s3.put_object(
        Bucket=src, Key="orig", Body=b"payload", Metadata={"colour": "blue"},
        ContentType="text/x-orig", Tagging="stage=raw",
    )["ETag"]  # fmt: skip
    source = {"Bucket": src, "Key": "orig"}
    s3.copy_object(Bucket=dst, Key="same", CopySource=source)
    head = s3.head_object(Bucket=dst, Key="same")
    assert head["Metadata"] == {"colour": "blue"} and head["ContentType"] == "text/x-orig"
    assert head["ETag"] == etag
    assert s3.get_object_tagging(Bucket=dst, Key="same")["TagSet"] == [
        {"Key": "stage", "Value": "raw"}
    ]
    s3.copy_object(
        Bucket=dst, Key="replaced", CopySource=source,
        MetadataDirective="REPLACE", Metadata={"colour": "red"}, ContentType="text/x-new",
        TaggingDirective="REPLACE", Tagging="stage=cooked",
    )  # fmt: skip
    head = s3.head_object(Bucket=dst, Key="replaced")
    assert head["Metadata"] == {"colour": "red"} and head["ContentType"] == "text/x-new"
    assert s3.get_object_tagging(Bucket=dst, Key="replaced")["TagSet"] == [
        {"Key": "stage", "Value": "cooked"}
    ]
    assert s3.get_object(Bucket=dst, Key="replaced")["Body"].read() == b"payload"
    s3.copy_object(Bucket=dst, Key="if-match", CopySource=source, CopySourceIfMatch=etag)
    for cond in (
        {"CopySourceIfMatch": '"ffffffffffffffffffffffffffffffff"'},
        {"CopySourceIfNoneMatch": etag},
        {"CopySourceIfUnmodifiedSince": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)},
    ):
        with pytest.raises(ClientError) as exc:
            s3.copy_object(Bucket=dst, Key="refused", CopySource=source, **cond)
        assert _status(exc) == 412, cond
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=dst, Key="refused")
    assert _status(exc) == 404
    with pytest.raises(ClientError) as exc:  # onto itself, changing nothing
        s3.copy_object(Bucket=src, Key="orig", CopySource=source)
    assert _code(exc) == "InvalidRequest"
    s3.delete_object_tagging(Bucket=dst, Key="same")
    assert s3.get_object_tagging(Bucket=dst, Key="same")["TagSet"] == []
    _empty_and_delete(s3, src)
    _empty_and_delete(s3, dst)


def test_multipart_part_copy_part_reads_and_completion_errors(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-multipart"
    s3.create_bucket(Bucket=b)
    body = os.urandom(12 * MiB)
    s3.put_object(Bucket=b, Key="source", Body=body)
    uid = s3.create_multipart_upload(Bucket=b, Key="copied")["UploadId"]
    cut = 5 * MiB
    parts = []
    for n, (lo, hi) in enumerate(((0, cut - 1), (cut, len(body) - 1)), start=1):
        r = s3.upload_part_copy(
            Bucket=b, Key="copied", UploadId=uid, PartNumber=n,
            CopySource={"Bucket": b, "Key": "source"}, CopySourceRange=f"bytes={lo}-{hi}",
        )  # fmt: skip
        parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    listed = s3.list_parts(Bucket=b, Key="copied", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, cut), (2, len(body) - cut)]
    done = s3.complete_multipart_upload(
        Bucket=b, Key="copied", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    md5s = hashlib.md5(
        hashlib.md5(body[:cut]).digest() + hashlib.md5(body[cut:]).digest()
    ).hexdigest()
    assert done["ETag"] == f'"{md5s}-2"'
    assert s3.get_object(Bucket=b, Key="copied")["Body"].read() == body
    part2 = s3.get_object(Bucket=b, Key="copied", PartNumber=2)
    assert part2["PartsCount"] == 2 and part2["ContentLength"] == len(body) - cut
    assert part2["Body"].read() == body[cut:]
    attrs = s3.get_object_attributes(
        Bucket=b, Key="copied", ObjectAttributes=["ObjectParts", "ETag", "ObjectSize"]
    )
    assert attrs["ObjectParts"]["TotalPartsCount"] == 2 and attrs["ObjectSize"] == len(body)

    uid = s3.create_multipart_upload(Bucket=b, Key="bad")["UploadId"]
    small = [
        {"PartNumber": n, "ETag": s3.upload_part(
            Bucket=b, Key="bad", UploadId=uid, PartNumber=n, Body=b"tiny" * n
        )["ETag"]}
        for n in (1, 2)
    ]  # fmt: skip
    for given, code in (
        (small, "EntityTooSmall"),
        ([small[1], small[0]], "InvalidPartOrder"),
        ([{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}], "InvalidPart"),
        ([{"PartNumber": 3, "ETag": small[0]["ETag"]}], "InvalidPart"),
    ):
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket=b, Key="bad", UploadId=uid, MultipartUpload={"Parts": given}
            )
        assert _code(exc) == code, given
    s3.abort_multipart_upload(Bucket=b, Key="bad", UploadId=uid)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=b, Key="bad", UploadId=uid)
    assert _code(exc) == "NoSuchUpload"
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=b, Key="bad")
    assert _status(exc) == 404
    _empty_and_delete(s3, b)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksum_algorithms_stored_and_returned(s3_up: S3Up, algorithm: str) -> None:
    s3 = s3_up.client()
    b = f"e2e-checksum-{algorithm.lower()}"
    s3.create_bucket(Bucket=b)
    data = os.urandom(300_000)
    put = s3.put_object(Bucket=b, Key="k", Body=data, ChecksumAlgorithm=algorithm)
    field = f"Checksum{algorithm}"
    known = {
        "CRC32": _b64(zlib.crc32(data).to_bytes(4, "big")),
        "SHA1": _b64(hashlib.sha1(data).digest()),
        "SHA256": _b64(hashlib.sha256(data).digest()),
    }
    if algorithm in known:
        assert put[field] == known[algorithm]
    head = s3.head_object(Bucket=b, Key="k", ChecksumMode="ENABLED")
    assert head[field] == put[field]
    # botocore checks the body against the returned checksum as it reads it.
    got = s3.get_object(Bucket=b, Key="k", ChecksumMode="ENABLED")
    assert got[field] == put[field] and got["Body"].read() == data
    attrs = s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"][field] == put[field]
    wrong = {f"Checksum{algorithm}": put[field][::-1]}
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=b, Key="k", Body=b"other", **wrong)
    assert _code(exc) in ("BadDigest", "InvalidRequest")
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == data
    _empty_and_delete(s3, b)


def test_versions_by_id_suspended_and_delete_markers(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-versions"
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and "null" not in (v1, v2)
    assert s3.head_object(Bucket=b, Key="k", VersionId=v1)["VersionId"] == v1
    s3.delete_object(Bucket=b, Key="k", VersionId=v2)  # removes that version for good
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"one"
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Suspended"
    assert s3.put_object(Bucket=b, Key="k", Body=b"three").get("VersionId", "null") == "null"
    marker = s3.delete_object(Bucket=b, Key="k")
    assert marker["DeleteMarker"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=b, Key="k")
    assert _code(exc) == "NoSuchKey"
    assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read() == b"one"
    listed = s3.list_object_versions(Bucket=b)
    assert [v["VersionId"] for v in listed["Versions"]] == [v1]
    assert [m["IsLatest"] for m in listed["DeleteMarkers"]] == [True]
    result = s3.delete_objects(
        Bucket=b,
        Delete={"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "never-there"}]},
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["k", "never-there"]
    _empty_and_delete(s3, b)


def test_expired_presigned_url_is_refused(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-presign-expiry"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"secret")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code == 403
    body = err.value.read().decode()
    assert "<Code>AccessDenied</Code>" in body and "expired" in body.lower()
    _empty_and_delete(s3, b)


def test_truncated_upload_stores_nothing(s3_up: S3Up) -> None:
    """A client that dies mid-body (presigned PUT, raw socket) leaves no object."""
    s3 = s3_up.client()
    b = "e2e-truncated"
    s3.create_bucket(Bucket=b)
    for key, size in (("small", 40_000), ("large", 3 * MiB)):
        url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": key}))
        sent = size // 2
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(
                f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Content-Length: {size}\r\n\r\n".encode()
            )
            sock.sendall(os.urandom(sent))
        # The same request completed stores an object, so the URL itself was good
        # (http.client adds no Content-Type, which a SigV2 presigned URL signs as empty).
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        try:
            conn.request("PUT", f"{url.path}?{url.query}", body=b"whole")
            assert conn.getresponse().status == 200
        finally:
            conn.close()
        assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"whole"
        s3.delete_object(Bucket=b, Key=key)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the aborted request may still be draining
            assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0
            time.sleep(0.5)
    _empty_and_delete(s3, b)


def test_upload_fileobj_and_batch_delete_report(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    b = "e2e-batch"
    s3.create_bucket(Bucket=b)
    for i in range(5):
        s3.upload_fileobj(io.BytesIO(b"%d" % i), b, f"k{i}")
    result = s3.delete_objects(
        Bucket=b, Delete={"Objects": [{"Key": f"k{i}"} for i in range(3)], "Quiet": False}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["k0", "k1", "k2"]
    assert "Errors" not in result
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["k3", "k4"]
    quiet = s3.delete_objects(
        Bucket=b, Delete={"Objects": [{"Key": "k3"}, {"Key": "k4"}], "Quiet": True}
    )
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0
    s3.delete_bucket(Bucket=b)
