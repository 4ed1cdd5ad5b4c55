"""Bucket configurations at AWS's size limits (issue 16): each largest valid document is
stored (across several metadata values when longer than a node keeps in one) and read
back whole; one just past the limit gets AWS's error; the native API sees none of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import swiftclient
from botocore.exceptions import ClientError
from botocore.serialize import create_serializer

from s3compat import acl, cors, lifecycle, tagging
from tests.functional.s3compat.conftest import S3Cluster


@pytest.fixture
def swift(s3_cluster: S3Cluster) -> Iterator[Any]:
    alice = s3_cluster.users["alice"]
    conn = swiftclient.Connection(
        authurl=s3_cluster.auth_url, user="alpha:alice", key=alice.key, retries=0
    )
    yield conn
    conn.close()


def _error(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as exc:
        call()
    r = exc.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def _system(cluster: S3Cluster, bucket: str) -> dict[str, str]:
    return dict(cluster.run(cluster.core.head_container("AUTH_alpha", bucket)).system)


def _parts(cluster: S3Cluster, bucket: str, key: str) -> dict[str, str]:
    """The key's stored parts that still hold something."""
    return {k: v for k, v in _system(cluster, bucket).items() if k.startswith(key + ".") and v}


def _body_size(s3: Any, operation: str, params: dict[str, Any]) -> int:
    """The bytes boto3 sends as the body of ``operation``."""
    model = s3.meta.service_model.operation_model(operation)
    body = create_serializer("rest-xml").serialize_to_request(params, model)["body"]
    return len(body)


def _native_view_unchanged(swift: Any, bucket: str) -> None:
    """Swift shows its own metadata only, and a Swift POST leaves the S3 state alone."""
    swift.post_container(bucket, headers={"X-Container-Meta-Colour": "blue"})
    headers = swift.head_container(bucket)
    assert headers["x-container-meta-colour"] == "blue"
    assert not [h for h in headers if "s3" in h.lower() or "sysmeta" in h.lower()]


# -- lifecycle: 1000 rules ------------------------------------------------------


def _lifecycle_rules(n: int) -> list[dict[str, Any]]:
    return [
        {
            "ID": f"{i:04d}-" + "r" * (lifecycle.MAX_ID - 5),
            "Filter": {"Prefix": f"logs/{i:04d}/" + "p" * 100},
            "Status": "Enabled",
            "Expiration": {"Days": 1 + i},
        }
        for i in range(n)
    ]


def test_a_1000_rule_lifecycle_is_kept_whole(
    s3: Any, s3_cluster: S3Cluster, swift: Any, bucket: str
) -> None:
    rules = _lifecycle_rules(lifecycle.MAX_RULES)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    assert len(_parts(s3_cluster, bucket, lifecycle.LIFECYCLE_KEY)) > 50
    # The last rule, in the last part, is applied like the first.
    s3.put_object(Bucket=bucket, Key=f"logs/0999/{'p' * 100}x", Body=b"x")
    got = s3.head_object(Bucket=bucket, Key=f"logs/0999/{'p' * 100}x")
    assert 'rule-id="0999-' in got["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"]
    _native_view_unchanged(swift, bucket)
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    small = rules[:1]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": small})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == small
    assert not _parts(s3_cluster, bucket, lifecycle.LIFECYCLE_KEY)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    s3.delete_bucket_lifecycle(Bucket=bucket)
    assert _error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket)) == (
        404,
        "NoSuchLifecycleConfiguration",
    )
    assert not _parts(s3_cluster, bucket, lifecycle.LIFECYCLE_KEY)
    assert not _system(s3_cluster, bucket).get(lifecycle.LIFECYCLE_KEY)


def test_a_lifecycle_over_1000_rules_is_refused(s3: Any, bucket: str) -> None:
    rules = _lifecycle_rules(lifecycle.MAX_RULES + 1)
    call = lambda: s3.put_bucket_lifecycle_configuration(  # noqa: E731
        Bucket=bucket, LifecycleConfiguration={"Rules": rules}
    )
    assert _error(call) == (400, "MalformedXML")


# -- CORS: a 64 KB document -----------------------------------------------------


def _cors(s3: Any, bucket: str, size: int) -> dict[str, Any]:
    """100 rules whose document, as boto3 sends it, is ``size`` bytes."""

    def config(pad: int) -> dict[str, Any]:
        rules: list[dict[str, Any]] = [
            {
                "ID": f"rule-{i:03d}",
                "AllowedMethods": ["GET", "PUT"],
                "AllowedOrigins": [f"https://{i:03d}.example.com"],
                "AllowedHeaders": ["x-amz-meta-" + "h" * 380],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000,
            }
            for i in range(cors.MAX_RULES)
        ]
        rules[-1]["AllowedOrigins"].append("https://" + "o" * pad + ".example.com")
        return {"CORSRules": rules}

    base = _body_size(s3, "PutBucketCors", {"Bucket": bucket, "CORSConfiguration": config(0)})
    out = config(size - base)
    assert _body_size(s3, "PutBucketCors", {"Bucket": bucket, "CORSConfiguration": out}) == size
    return out


def test_a_64_kb_cors_configuration_is_kept_whole(
    s3: Any, s3_cluster: S3Cluster, swift: Any, bucket: str
) -> None:
    config = _cors(s3, bucket, cors.MAX_DOCUMENT)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=config)
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == config["CORSRules"]
    assert len(_parts(s3_cluster, bucket, cors.CORS_KEY)) > 5
    _native_view_unchanged(swift, bucket)
    s3.delete_bucket_cors(Bucket=bucket)
    assert _error(lambda: s3.get_bucket_cors(Bucket=bucket)) == (404, "NoSuchCORSConfiguration")
    assert not _parts(s3_cluster, bucket, cors.CORS_KEY)


def test_a_cors_document_over_64_kb_is_refused(s3: Any, bucket: str) -> None:
    config = _cors(s3, bucket, cors.MAX_DOCUMENT + 1)
    call = lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=config)  # noqa: E731
    assert _error(call) == (400, "MaxMessageLengthExceeded")


# -- bucket tags: 50 of 128 + 256 characters -------------------------------------


def _tags(n: int) -> list[dict[str, str]]:
    # Characters AWS allows that take the most room once stored: "/" "=" "@" and non-ASCII.
    return [{"Key": f"{i:02d}/" + "é=@" * 41 + "éé", "Value": "€/ +" * 64} for i in range(n)]


def test_50_bucket_tags_of_the_longest_are_kept_whole(
    s3: Any, s3_cluster: S3Cluster, swift: Any, bucket: str
) -> None:
    tags = _tags(tagging.MAX_BUCKET_TAGS)
    assert {len(t["Key"]) for t in tags} == {128} and {len(t["Value"]) for t in tags} == {256}
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags
    assert len(_parts(s3_cluster, bucket, tagging.BUCKET_TAGS)) > 5
    _native_view_unchanged(swift, bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags[:1]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags[:1]
    assert not _parts(s3_cluster, bucket, tagging.BUCKET_TAGS)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    s3.delete_bucket_tagging(Bucket=bucket)
    assert _error(lambda: s3.get_bucket_tagging(Bucket=bucket)) == (404, "NoSuchTagSet")
    assert not _parts(s3_cluster, bucket, tagging.BUCKET_TAGS)


def test_bucket_tags_past_the_limits_are_refused(s3: Any, bucket: str) -> None:
    too_many = _tags(tagging.MAX_BUCKET_TAGS + 1)
    call = lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": too_many})  # noqa: E731
    assert _error(call)[0] == 400
    long_key = [{"Key": "k" * 129, "Value": "v"}]
    call = lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": long_key})  # noqa: E731
    assert _error(call) == (400, "InvalidTag")


# -- bucket ACL: 100 grants -------------------------------------------------------


def _grants(cluster: S3Cluster, n: int, name: int = 60) -> list[dict[str, Any]]:
    """``n`` grants to users of bob's project (ids of ``name`` + 10 characters), the last
    to the whole project."""
    project = cluster.users["bob"].project
    perms = ["WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL", "READ"]
    out = [
        {
            "Grantee": {"Type": "CanonicalUser", "ID": f"{project}:{i:03d}-" + "u" * name},
            "Permission": perms[i % len(perms)],
        }
        for i in range(n - 1)
    ]
    return [*out, {"Grantee": {"Type": "CanonicalUser", "ID": project}, "Permission": "READ"}]


def _ids(grants: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(g["Grantee"].get("ID", g["Grantee"].get("URI", "")), g["Permission"]) for g in grants]


def test_a_100_grant_bucket_acl_is_kept_whole(s3: Any, s3_cluster: S3Cluster, bucket: str) -> None:
    ada = s3_cluster.client("ada")  # sharing needs the admin role
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    grants = _grants(s3_cluster, acl.MAX_GRANTS)
    policy = {"Owner": owner, "Grants": grants}
    ada.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    assert _ids(s3.get_bucket_acl(Bucket=bucket)["Grants"]) == _ids(grants)
    assert _parts(s3_cluster, bucket, acl.GRANTS_KEY)
    # The last grant, from the last part, lets its grantee in: bob's project lists the bucket.
    s3.put_object(Bucket=bucket, Key="k", Body=b"shared")
    bob = s3_cluster.client("bob")
    assert [o["Key"] for o in bob.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    ada.put_bucket_acl(Bucket=bucket, ACL="private")
    assert not _parts(s3_cluster, bucket, acl.GRANTS_KEY)
    assert _error(lambda: bob.list_objects_v2(Bucket=bucket))[0] == 403


def test_a_bucket_created_with_100_header_grants(s3_cluster: S3Cluster, bucket_name: str) -> None:
    ada = s3_cluster.client("ada")
    # Every grantee is a Swift reader too: 100 of them fit the node's 4 KiB read-acl value
    # when their ids are up to ~40 characters (see docs/s3-compat.md).
    grants = _grants(s3_cluster, acl.MAX_GRANTS, name=25)
    ids = ",".join(f'id="{g["Grantee"]["ID"]}"' for g in grants)
    ada.create_bucket(Bucket=bucket_name, GrantRead=ids)
    got = ada.get_bucket_acl(Bucket=bucket_name)["Grants"]
    assert _ids(got) == [(g["Grantee"]["ID"], "READ") for g in grants]
    assert _parts(s3_cluster, bucket_name, acl.GRANTS_KEY)


def test_an_acl_over_100_grants_is_refused(s3: Any, s3_cluster: S3Cluster, bucket: str) -> None:
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    policy = {"Owner": owner, "Grants": _grants(s3_cluster, acl.MAX_GRANTS + 1)}
    ada = s3_cluster.client("ada")
    call = lambda: ada.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)  # noqa: E731
    assert _error(call) == (400, "MalformedACLError")


# -- object tags: 10 of 128 + 256 characters ---------------------------------------


def test_10_object_tags_of_the_longest_are_kept_whole(s3: Any, bucket: str) -> None:
    # Characters AWS allows that URL-encoding triples; non-ASCII ones: see below.
    tags = [
        {"Key": f"{i:02d}" + "/ =+@:" * 21, "Value": "/ =+@:._-" * 28 + "/@:+"} for i in range(10)
    ]
    assert {len(t["Key"]) for t in tags} == {128} and {len(t["Value"]) for t in tags} == {256}
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"m": "v" * 1024})
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tags})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == tags
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"m": "v" * 1024}
    s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"})
    assert s3.get_object_tagging(Bucket=bucket, Key="c")["TagSet"] == tags


def test_object_tags_beyond_one_value_are_refused_cleanly(s3: Any, bucket: str) -> None:
    # An object's metadata goes to the node in one request (4 KiB a value, 8 KiB in all):
    # 10 tags of 384 two-byte characters do not fit; AWS would take them.
    tags = [{"Key": f"{i:02d}" + "é" * 126, "Value": "é" * 256} for i in range(10)]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    call = lambda: s3.put_object_tagging(  # noqa: E731
        Bucket=bucket, Key="k", Tagging={"TagSet": tags}
    )
    assert _error(call) == (400, "InvalidTag")


# -- a policy naming an element twice ------------------------------------------------


@pytest.mark.parametrize(
    "twice",
    [
        '"Effect": "Deny", "Effect": "Allow"',
        '"Effect": "Allow", "Condition": {"Bool": {"aws:SecureTransport": "true"},'
        ' "Bool": {"aws:SecureTransport": "false"}}',
    ],
)
def test_a_policy_naming_an_element_twice_is_refused(
    s3_cluster: S3Cluster, bucket: str, twice: str
) -> None:
    # The text is kept and returned byte for byte: one value would show, the other apply.
    ada = s3_cluster.client("ada")
    doc = (
        '{"Version": "2012-10-17", "Statement": [{%s,'
        ' "Principal": {"AWS": "arn:aws:iam::beta:root"},'
        ' "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*"}]}'
    )
    once = doc % ('"Effect": "Allow"', bucket)
    ada.put_bucket_policy(Bucket=bucket, Policy=once)
    call = lambda: ada.put_bucket_policy(Bucket=bucket, Policy=doc % (twice, bucket))  # noqa: E731
    with pytest.raises(ClientError) as exc:
        call()
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"][:15]) == ("MalformedPolicy", "Duplicate field")
    assert ada.get_bucket_policy(Bucket=bucket)["Policy"] == once


def test_a_100_grant_object_acl(s3: Any, s3_cluster: S3Cluster, bucket: str) -> None:
    # An object's ACL is one metadata value (3500 bytes): 100 grants whose ids are up to
    # ~20 characters; longer ones answer MalformedACLError (docs/s3-compat.md).
    ada = s3_cluster.client("ada")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    owner = s3.get_object_acl(Bucket=bucket, Key="k")["Owner"]
    grants = _grants(s3_cluster, acl.MAX_GRANTS, name=4)
    ada.put_object_acl(
        Bucket=bucket, Key="k", AccessControlPolicy={"Owner": owner, "Grants": grants}
    )
    assert _ids(s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]) == _ids(grants)
    assert s3_cluster.client("bob").get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    longer = {"Owner": owner, "Grants": _grants(s3_cluster, acl.MAX_GRANTS, name=30)}
    call = lambda: ada.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=longer)  # noqa: E731
    assert _error(call) == (400, "MalformedACLError")
