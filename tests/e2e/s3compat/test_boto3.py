"""boto3 against `stratus up`: every operation family, in each addressing style,
and the failures a client must see, with the CLI making a second project."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import urllib.request
import zlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.e2e.s3compat.conftest import S3Up

MiB = 1024 * 1024


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.mark.parametrize("style", ["default", "path", "virtual"])
def test_operation_tour(s3_up: S3Up, style: str) -> None:
    s3 = s3_up.client(style)
    b = f"e2e-tour-{style}"
    s3.create_bucket(Bucket=b)
    assert b in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=b)
    assert s3.get_bucket_location(Bucket=b).get("LocationConstraint") in (None, "")
    data = os.urandom(100_000)
    put = s3.put_object(
        Bucket=b, Key="dir/obj", Body=data, Metadata={"k": "v"}, Tagging="t=1",
        ChecksumAlgorithm="CRC32C", StorageClass="STANDARD_IA",
    )  # fmt: skip
    got = s3.get_object(Bucket=b, Key="dir/obj", Range="bytes=10-19", ChecksumMode="ENABLED")
    assert got["Body"].read() == data[10:20]
    head = s3.head_object(Bucket=b, Key="dir/obj", ChecksumMode="ENABLED")
    assert head["Metadata"] == {"k": "v"} and head["StorageClass"] == "STANDARD_IA"
    assert head["ChecksumCRC32C"] == put["ChecksumCRC32C"]
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "dir/obj"})
    assert s3.get_object(Bucket=b, Key="copy")["Body"].read() == data
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b, Prefix="dir/")["Contents"]] == [
        "dir/obj"
    ]
    assert [p["Prefix"] for p in s3.list_objects(Bucket=b, Delimiter="/")["CommonPrefixes"]] == [
        "dir/"
    ]
    s3.put_object_tagging(Bucket=b, Key="copy", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    assert s3.get_object_tagging(Bucket=b, Key="copy")["TagSet"] == [{"Key": "a", "Value": "b"}]
    attrs = s3.get_object_attributes(Bucket=b, Key="dir/obj", ObjectAttributes=["ObjectSize"])
    assert attrs["ObjectSize"] == len(data)
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "env", "Value": "e2e"}]})
    s3.put_bucket_cors(
        Bucket=b,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]},
    )
    assert s3.get_bucket_cors(Bucket=b)["CORSRules"][0]["AllowedMethods"] == ["GET"]
    s3.put_object_acl(Bucket=b, Key="copy", ACL="public-read")
    assert any("URI" in g["Grantee"] for g in s3.get_object_acl(Bucket=b, Key="copy")["Grants"])
    s3.put_bucket_acl(Bucket=b, ACL="private")
    assert len(s3.get_bucket_acl(Bucket=b)["Grants"]) == 1
    big = os.urandom(11 * MiB)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(big), b, "big", Config=cfg)
    out = io.BytesIO()
    s3.download_fileobj(b, "big", out, Config=cfg)
    assert hashlib.md5(out.getvalue()).digest() == hashlib.md5(big).digest()
    uid = s3.create_multipart_upload(Bucket=b, Key="aborted")["UploadId"]
    s3.upload_part(Bucket=b, Key="aborted", UploadId=uid, PartNumber=1, Body=b"x")
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b)["Uploads"]] == [uid]
    assert len(s3.list_parts(Bucket=b, Key="aborted", UploadId=uid)["Parts"]) == 1
    s3.abort_multipart_upload(Bucket=b, Key="aborted", UploadId=uid)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=b, Key="ver", Body=b"1")["VersionId"]
    s3.put_object(Bucket=b, Key="ver", Body=b"2")
    assert s3.get_object(Bucket=b, Key="ver", VersionId=v1)["Body"].read() == b"1"
    marker = s3.delete_object(Bucket=b, Key="ver")
    assert marker["DeleteMarker"]
    versions = s3.list_object_versions(Bucket=b, Prefix="ver")
    assert len(versions["Versions"]) == 2 and len(versions["DeleteMarkers"]) == 1
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "dir/obj"})
    if style != "virtual":  # urllib cannot resolve the virtual host name
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.read() == data
    # Empty the bucket, versions and all, then delete it.
    everything = s3.list_object_versions(Bucket=b)
    doomed = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in everything.get("Versions", []) + everything.get("DeleteMarkers", [])
    ]
    s3.delete_objects(Bucket=b, Delete={"Objects": doomed, "Quiet": True})
    assert s3.list_object_versions(Bucket=b).get("Versions", []) == []
    s3.delete_bucket(Bucket=b)


def _cli(s3_up: S3Up, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env["STRATUS_DATA"] = str(s3_up.server.data_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_failures_a_client_sees(s3_up: S3Up) -> None:
    s3 = s3_up.client()
    s3.create_bucket(Bucket="e2e-fail")
    with pytest.raises(ClientError) as exc:
        s3_up.client(secret="not-the-secret").list_buckets()
    assert _code(exc) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as exc:
        s3_up.client(access="STRNOSUCHACCESS01").list_buckets()
    assert _code(exc) == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="e2e-fail", Key="nothing")
    assert _code(exc) == "NoSuchKey"
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="e2e-no-such-bucket")
    assert _code(exc) == "NoSuchBucket"
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="e2e-fail", Key="md5", Body=b"data", ContentMD5=wrong_md5)
    assert _code(exc) == "BadDigest"
    wrong_crc = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="e2e-fail", Key="crc", Body=b"data", ChecksumCRC32=wrong_crc)
    assert _code(exc) == "BadDigest"
    assert s3.list_objects_v2(Bucket="e2e-fail")["KeyCount"] == 0
    # A second project, made with the CLI, cannot touch the admin's bucket.
    _cli(s3_up, "project", "create", "e2eother")
    _cli(s3_up, "user", "create", "e2eother:eve", "--json")
    cred = json.loads(_cli(s3_up, "credentials", "create", "--user", "e2eother:eve", "--json"))
    eve = s3_up.client(access=cred["access"], secret=cred["secret"])
    for call in (
        lambda: eve.list_objects_v2(Bucket="e2e-fail"),
        lambda: eve.put_object(Bucket="e2e-fail", Key="x", Body=b"x"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        eve.create_bucket(Bucket="e2e-fail")
    assert _code(exc) == "BucketAlreadyExists"
    eve.create_bucket(Bucket="e2e-eves")
    assert [b["Name"] for b in eve.list_buckets()["Buckets"]] == ["e2e-eves"]
    s3.delete_bucket(Bucket="e2e-fail")
