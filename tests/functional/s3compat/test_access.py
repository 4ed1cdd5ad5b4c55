"""Who may do what: projects, roles, ACLs (shared with Swift), bucket policies, CORS."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import S3Cluster


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _anonymous(cluster: S3Cluster) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=cluster.endpoint,
        region_name="us-east-1",
        config=BotoConfig(signature_version=UNSIGNED),
    )


def test_other_projects_and_roles(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret", Body=b"alpha only")
    bob = s3_cluster.client("bob")
    for call in (
        lambda: bob.get_object(Bucket=bucket, Key="secret"),
        lambda: bob.put_object(Bucket=bucket, Key="x", Body=b"no"),
        lambda: bob.list_objects_v2(Bucket=bucket),
        lambda: bob.delete_bucket(Bucket=bucket),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        bob.create_bucket(Bucket=bucket)
    assert _code(exc) == "BucketAlreadyExists"
    assert bucket not in [b["Name"] for b in bob.list_buckets()["Buckets"]]
    reader = s3_cluster.client("reed")
    assert reader.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"alpha only"
    with pytest.raises(ClientError) as exc:
        reader.put_object(Bucket=bucket, Key="x", Body=b"no")
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        _anonymous(s3_cluster).list_buckets()
    assert _code(exc) == "AccessDenied"


def test_canned_bucket_acls_are_swift_acls(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"public?")
    anon = _anonymous(s3_cluster)
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert _code(exc) == "AccessDenied"
    admin = s3_cluster.client("ada")  # setting ACLs needs the admin role
    admin.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"public?"
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"} in [
        g["Grantee"] for g in grants
    ]
    info = s3_cluster.run(s3_cluster.core.head_container("AUTH_alpha", bucket))
    assert info.read_acl == ".r:*,.rlistings"
    with pytest.raises(ClientError) as exc:
        anon.put_object(Bucket=bucket, Key="w", Body=b"no")
    assert _code(exc) == "AccessDenied"
    admin.put_bucket_acl(Bucket=bucket, ACL="authenticated-read")
    assert s3_cluster.client("bob").get_object(Bucket=bucket, Key="k")["Body"].read()
    with pytest.raises(ClientError):
        anon.get_object(Bucket=bucket, Key="k")
    admin.put_bucket_acl(Bucket=bucket, ACL="private")
    with pytest.raises(ClientError):
        s3_cluster.client("bob").get_object(Bucket=bucket, Key="k")


def test_object_acls(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    admin = s3_cluster.client("ada")  # making objects public needs the admin role
    admin.put_object(Bucket=bucket, Key="open", Body=b"o", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"c")
    anon = _anonymous(s3_cluster)
    assert anon.get_object(Bucket=bucket, Key="open")["Body"].read() == b"o"
    with pytest.raises(ClientError):
        anon.get_object(Bucket=bucket, Key="closed")
    admin.put_object_acl(Bucket=bucket, Key="closed", ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="closed")["Body"].read() == b"c"
    grants = s3.get_object_acl(Bucket=bucket, Key="closed")["Grants"]
    assert any(g["Permission"] == "READ" and "URI" in g["Grantee"] for g in grants)
    with pytest.raises(ClientError):
        anon.list_objects_v2(Bucket=bucket)


def test_bucket_policy_allow_and_deny(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=bucket)
    assert _code(exc) == "NoSuchBucketPolicy"
    s3.put_object(Bucket=bucket, Key="pub/a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="priv/b", Body=b"b")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/pub/*",
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/locked/*",
            },
        ],
    }
    admin = s3_cluster.client("ada")  # bucket policies need the admin role
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    anon = _anonymous(s3_cluster)
    assert anon.get_object(Bucket=bucket, Key="pub/a")["Body"].read() == b"a"
    with pytest.raises(ClientError):
        anon.get_object(Bucket=bucket, Key="priv/b")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="locked/x", Body=b"owner too")
    assert _code(exc) == "AccessDenied"
    s3.put_object(Bucket=bucket, Key="open/x", Body=b"fine")
    for bad in ("not json", json.dumps({"Statement": [{"Effect": "Maybe"}]})):
        with pytest.raises(ClientError) as exc:
            admin.put_bucket_policy(Bucket=bucket, Policy=bad)
        assert _code(exc) == "MalformedPolicy"
    admin.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError):
        anon.get_object(Bucket=bucket, Key="pub/a")
    s3.put_object(Bucket=bucket, Key="locked/x", Body=b"now allowed")


def _options(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(url, method="OPTIONS", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def test_cors(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    url = f"{s3_cluster.endpoint}/{bucket}/k"
    ask = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"}
    assert _options(url, ask)[0] == 403
    rules = [
        {
            "AllowedOrigins": ["https://*.example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["x-amz-*", "content-type"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules
    status, headers = _options(url, {**ask, "Access-Control-Request-Headers": "x-amz-meta-a"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Max-Age"] == "600"
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert _options(url, {**ask, "Origin": "https://evil.test"})[0] == 403
    assert _options(url, {**ask, "Access-Control-Request-Method": "DELETE"})[0] == 403
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    seen: list[dict[str, str]] = []
    s3.meta.events.register(
        "before-send.s3.GetObject",
        lambda request, **kw: request.headers.__setitem__("Origin", "https://app.example.com"),
    )
    s3.meta.events.register(
        "after-call.s3.GetObject",
        lambda http_response, **kw: seen.append(dict(http_response.headers)),
    )
    s3.get_object(Bucket=bucket, Key="k")
    assert seen[0]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert seen[0]["Access-Control-Expose-Headers"] == "ETag"
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert _code(exc) == "NoSuchCORSConfiguration"


def test_an_acl_only_user_gets_only_what_policies_and_acls_grant(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    """Role ``acl-only``: nothing of its own project's buckets until a policy or ACL names it."""
    s3.put_object(Bucket=bucket, Key="doc", Body=b"d")
    carol = s3_cluster.client("carol")
    for call in (
        lambda: carol.list_objects_v2(Bucket=bucket),
        lambda: carol.get_object(Bucket=bucket, Key="doc"),
        lambda: carol.put_object(Bucket=bucket, Key="x", Body=b"x"),
        lambda: carol.create_bucket(Bucket=bucket + "-carol"),
        carol.list_buckets,
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "AccessDenied"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::alpha:user/carol"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3_cluster.client("ada").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert carol.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"d"
    with pytest.raises(ClientError) as exc:
        carol.put_object(Bucket=bucket, Key="x", Body=b"x")
    assert _code(exc) == "AccessDenied"
