"""Attacks from the security review (issue 13) against the S3 API, through real clients.

Each test plays the attacker: a presigned URL's holder adding headers the
signer never signed, another project granted objects by a policy reaching for
the bucket's keys, anonymous callers probing tags, uploads and key names, a
SigV2 URL that would never expire, a ``member`` publishing data.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.functional.s3compat import rawsign
from tests.functional.s3compat.conftest import S3Cluster

NOT_SIGNED = b"There were headers present in the request which were not signed"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _anonymous(cluster: S3Cluster) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=cluster.endpoint,
        region_name="us-east-1",
        config=BotoConfig(signature_version=UNSIGNED),
    )


def _send(url: str, method: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body if method == "PUT" else None, method=method)
    for k, v in headers.items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _missing(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def _add_header_after_signing(client: Any, name: str, value: str) -> None:
    """Make ``client`` add a header once the request is signed, as a tamperer would."""
    client.meta.events.register(
        "before-send.s3.*", lambda request, **kw: request.headers.__setitem__(name, value)
    )


# 1. Unsigned x-amz-* headers


def test_presigned_put_refuses_unsigned_copy_source_and_acl(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="secret", Body=b"the signer's secret")
    signer = s3_cluster.client(signature_version="s3v4")
    url = signer.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "upload"}, ExpiresIn=300
    )
    assert "X-Amz-SignedHeaders=host&" in url or url.endswith("X-Amz-SignedHeaders=host")
    # The holder of an upload URL tries to turn it into a copy of another object.
    status, body = _send(url, "PUT", {"x-amz-copy-source": f"/{bucket}/secret"})
    assert status == 403 and NOT_SIGNED in body
    assert b"<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>" in body
    assert _missing(s3, bucket, "upload")
    # ...or to publish what it uploads.
    status, body = _send(url, "PUT", {"x-amz-acl": "public-read"}, b"mine")
    assert status == 403 and b"<HeadersNotSigned>x-amz-acl</HeadersNotSigned>" in body
    assert _missing(s3, bucket, "upload")
    # The payload hash is the one x-amz-* header AWS lets go unsigned: its value is signed.
    status, _ = _send(url, "PUT", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, b"fine")
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key="upload")["Body"].read() == b"fine"
    # Headers the presigner did sign are honoured.
    signed = signer.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "tagged", "Tagging": "a=b"},
        ExpiresIn=300,
    )
    assert "x-amz-tagging" in urlsplit(signed).query
    status, _ = _send(signed, "PUT", {"x-amz-tagging": "a=b"}, b"t")
    assert status == 200


def test_header_signed_request_refuses_unsigned_amz_headers(
    s3_cluster: S3Cluster, bucket: str
) -> None:
    alice = s3_cluster.users["alice"]
    host = f"127.0.0.1:{s3_cluster.port}"
    signed = rawsign.sign(
        "PUT", host, f"/{bucket}/k", alice.access, alice.secret, payload_hash=rawsign.EMPTY
    )
    headers = {**signed.headers, "x-amz-meta-added": "later", "x-amz-storage-class": "GLACIER"}
    status, _, body = rawsign.send(s3_cluster.port, "PUT", f"/{bucket}/k", headers)
    assert status == 403 and NOT_SIGNED in body
    assert b"<HeadersNotSigned>x-amz-meta-added, x-amz-storage-class</HeadersNotSigned>" in body
    # boto3 signs every x-amz-* header it sends; one added after signing is refused.
    tampered = s3_cluster.client(signature_version="s3v4")
    _add_header_after_signing(tampered, "x-amz-acl", "public-read")
    with pytest.raises(ClientError) as exc:
        tampered.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert _code(exc) == "AccessDenied"
    assert exc.value.response["Error"]["Message"] == NOT_SIGNED.decode()


def test_signature_v2_signs_every_amz_header(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    v2 = s3_cluster.client(signature_version="s3")
    v2.put_object(Bucket=bucket, Key="v2", Body=b"ok", Metadata={"m": "1"})
    _add_header_after_signing(v2, "x-amz-acl", "public-read")
    with pytest.raises(ClientError) as exc:
        v2.put_object(Bucket=bucket, Key="v2-public", Body=b"no")
    assert _code(exc) == "SignatureDoesNotMatch"
    assert _missing(s3, bucket, "v2-public")
    url = s3_cluster.client(signature_version="s3").generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "v2-url"}, ExpiresIn=300
    )
    status, _ = _send(url, "PUT", {"x-amz-copy-source": f"/{bucket}/v2"})
    assert status == 403
    assert _missing(s3, bucket, "v2-url")


# 2. A bucket policy never hands another project the owner's operations


def test_policy_cannot_grant_owner_operations(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    admin, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    s3.put_object(Bucket=bucket, Key="shared", Body=b"for beta")
    everything = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::beta:root"},
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(everything))
    # What the policy may grant, it does.
    assert bob.get_object(Bucket=bucket, Key="shared")["Body"].read() == b"for beta"
    bob.put_object(Bucket=bucket, Key="from-bob", Body=b"b")
    lockout = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    wipe = {"Rules": [{"ID": "wipe", "Status": "Enabled", "Expiration": {"Days": 1}}]}
    attempts = [
        lambda: bob.put_bucket_policy(Bucket=bucket, Policy=json.dumps(lockout)),
        lambda: bob.get_bucket_policy(Bucket=bucket),
        lambda: bob.delete_bucket_policy(Bucket=bucket),
        lambda: bob.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: bob.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        ),
        lambda: bob.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]},
        ),
        lambda: bob.delete_bucket_cors(Bucket=bucket),
        lambda: bob.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []}),
        lambda: bob.delete_bucket_tagging(Bucket=bucket),
        lambda: bob.delete_bucket(Bucket=bucket),
        # Every bucket configuration write: an expiration rule would delete the owner's data.
        lambda: bob.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=wipe),
        lambda: bob.delete_bucket_lifecycle(Bucket=bucket),
        lambda: bob.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        ),
        lambda: bob.delete_bucket_encryption(Bucket=bucket),
        lambda: bob.put_object_lock_configuration(
            Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as exc:
            attempt()
        assert _code(exc) == "AccessDenied"
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == everything
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") is None
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert _code(exc) == "NoSuchLifecycleConfiguration"
    # The owner's own Deny of everything stops the owner's data operations, never the
    # owner's policy management: the owner cannot be locked out.
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(lockout))
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="shared")
    assert _code(exc) == "AccessDenied"
    assert json.loads(admin.get_bucket_policy(Bucket=bucket)["Policy"]) == lockout
    admin.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="shared")["Body"].read() == b"for beta"


# 3. Object tags and upload parts are not for whoever asks


def test_object_tags_follow_the_object_acl(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    admin, anon, bob = s3_cluster.client("ada"), _anonymous(s3_cluster), s3_cluster.client("bob")
    s3.put_object(Bucket=bucket, Key="private", Body=b"p", Tagging="customer=acme")
    admin.put_object(Bucket=bucket, Key="public", Body=b"o", Tagging="k=v", ACL="public-read")
    for who in (anon, bob):
        with pytest.raises(ClientError) as exc:
            who.get_object_tagging(Bucket=bucket, Key="private")
        assert _code(exc) == "AccessDenied"
    # Whoever may read the object may read its tags, as for GetObject.
    assert anon.get_object_tagging(Bucket=bucket, Key="public")["TagSet"] == [
        {"Key": "k", "Value": "v"}
    ]
    with pytest.raises(ClientError) as exc:
        anon.put_object_tagging(Bucket=bucket, Key="public", Tagging={"TagSet": []})
    assert _code(exc) == "AccessDenied"


def test_list_parts_and_abort_need_write_or_the_initiator(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    admin, anon, bob = s3_cluster.client("ada"), _anonymous(s3_cluster), s3_cluster.client("bob")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=b"part")
    admin.put_bucket_acl(Bucket=bucket, ACL="public-read")  # reading, not writing, is public
    for who in (anon, bob):
        with pytest.raises(ClientError) as exc:
            who.list_parts(Bucket=bucket, Key="big", UploadId=uid)
        assert _code(exc) == "AccessDenied"
        with pytest.raises(ClientError) as exc:
            who.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=uid)
        assert _code(exc) == "AccessDenied"
    reader = s3_cluster.client("reed")  # the owning project's readers may look
    assert len(reader.list_parts(Bucket=bucket, Key="big", UploadId=uid)["Parts"]) == 1
    # Another project allowed to upload (by a policy) manages its own uploads only.
    uploads_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::beta:root"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(uploads_only))
    mine = bob.create_multipart_upload(Bucket=bucket, Key="bobs")["UploadId"]
    bob.upload_part(Bucket=bucket, Key="bobs", UploadId=mine, PartNumber=1, Body=b"b")
    assert len(bob.list_parts(Bucket=bucket, Key="bobs", UploadId=mine)["Parts"]) == 1
    with pytest.raises(ClientError) as exc:
        bob.list_parts(Bucket=bucket, Key="big", UploadId=uid)
    assert _code(exc) == "AccessDenied"
    bob.abort_multipart_upload(Bucket=bucket, Key="bobs", UploadId=mine)
    s3.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=uid)


# 4. Whether a key exists is for those who may list the bucket


def test_missing_keys_are_access_denied_without_list_rights(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    admin, anon, bob = s3_cluster.client("ada"), _anonymous(s3_cluster), s3_cluster.client("bob")
    s3.put_object(Bucket=bucket, Key="exists", Body=b"e")
    for who in (anon, bob):
        for key in ("exists", "does-not-exist"):
            with pytest.raises(ClientError) as exc:
                who.get_object(Bucket=bucket, Key=key)
            assert _code(exc) == "AccessDenied"
            with pytest.raises(ClientError) as exc:
                who.head_object(Bucket=bucket, Key=key)
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Reading objects by policy, without s3:ListBucket, still tells nothing of missing keys.
    reads_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::beta:root"},
                "Action": ["s3:GetObject", "s3:GetObjectTagging"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(reads_only))
    assert bob.get_object(Bucket=bucket, Key="exists")["Body"].read() == b"e"
    with pytest.raises(ClientError) as exc:
        bob.get_object(Bucket=bucket, Key="does-not-exist")
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        bob.get_object_tagging(Bucket=bucket, Key="does-not-exist")
    assert _code(exc) == "AccessDenied"
    admin.delete_bucket_policy(Bucket=bucket)
    # Those who may list the bucket are told the key is missing.
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="does-not-exist")
    assert _code(exc) == "NoSuchKey"
    admin.put_bucket_acl(Bucket=bucket, ACL="public-read")
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="does-not-exist")
    assert _code(exc) == "NoSuchKey"


# 5. SigV2 presigned URLs expire within a week


def test_signature_v2_presigned_urls_live_a_week_at_most(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    v2 = s3_cluster.client(signature_version="s3")
    week = 7 * 24 * 3600
    forever = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=10 * 365 * 24 * 3600
    )
    status, body = _send(forever, "GET", {})
    assert status == 400 and b"<Code>AuthorizationQueryParametersError</Code>" in body
    month = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=week + 3600
    )
    assert _send(month, "GET", {})[0] == 400
    ok = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=week
    )
    assert _send(ok, "GET", {}) == (200, b"v2")


# 6. Only a project's admin opens its data to others


def test_members_cannot_publish_or_manage_access(
    s3_cluster: S3Cluster, s3: Any, bucket: str, bucket_name: str
) -> None:
    admin = s3_cluster.client("ada")
    s3.put_object(Bucket=bucket, Key="src", Body=b"s")
    denied = [
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="private"),
        lambda: s3.put_bucket_acl(Bucket=bucket, GrantRead='id="beta"'),
        lambda: s3.put_object(Bucket=bucket, Key="pub", Body=b"x", ACL="public-read"),
        lambda: s3.put_object(Bucket=bucket, Key="pub", Body=b"x", ACL="authenticated-read"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="src", ACL="public-read"),
        lambda: s3.copy_object(
            Bucket=bucket, Key="pub", CopySource=f"{bucket}/src", ACL="public-read"
        ),
        lambda: s3.create_multipart_upload(Bucket=bucket, Key="pub", ACL="public-read"),
        lambda: s3.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::{bucket}/*",
                        }
                    ]
                }
            ),
        ),
        lambda: s3.delete_bucket_policy(Bucket=bucket),
        lambda: s3.create_bucket(Bucket=bucket_name + "-pub", ACL="public-read"),
        lambda: s3.create_bucket(Bucket=bucket_name + "-grant", GrantRead='id="beta"'),
    ]
    for attempt in denied:
        with pytest.raises(ClientError) as exc:
            attempt()
        assert _code(exc) == "AccessDenied"
    assert _missing(s3, bucket, "pub")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket_name + "-pub" not in names and bucket_name + "-grant" not in names
    anon = _anonymous(s3_cluster)
    with pytest.raises(ClientError):
        anon.get_object(Bucket=bucket, Key="src")
    # Members still read, write, and keep their objects private.
    s3.put_object(Bucket=bucket, Key="priv", Body=b"p", ACL="private")
    s3.put_object(Bucket=bucket, Key="owner", Body=b"o", ACL="bucket-owner-full-control")
    s3.put_object_acl(Bucket=bucket, Key="src", ACL="private")
    assert s3.get_bucket_acl(Bucket=bucket)["Grants"]
    # The admin may do all of it.
    admin.put_object(Bucket=bucket, Key="pub", Body=b"x", ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"x"
    admin.put_bucket_acl(Bucket=bucket, ACL="private")


def test_acl_writers_of_another_project_cannot_publish(s3_cluster: S3Cluster, bucket: str) -> None:
    admin, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    admin.put_bucket_acl(Bucket=bucket, GrantWrite='id="beta:bob"')
    bob.put_object(Bucket=bucket, Key="drop", Body=b"d")
    with pytest.raises(ClientError) as exc:
        bob.put_object(Bucket=bucket, Key="published", Body=b"p", ACL="public-read")
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError):
        _anonymous(s3_cluster).get_object(Bucket=bucket, Key="published")
