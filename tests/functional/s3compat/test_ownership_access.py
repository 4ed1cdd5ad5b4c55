"""Ownership and access (issue 16) through boto3 on a real cluster: object and bucket ACL
grants in every form, Object Ownership, Block Public Access, GetBucketPolicyStatus.

Users (see conftest): alice (alpha member), ada (alpha admin), carol (alpha acl-only),
bob (beta member); canonical ids are ``project`` or ``project:user``.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import S3Cluster

ALL = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


def _err(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    e = exc.value.response
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"]["Message"]


def _anonymous(cluster: S3Cluster) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=cluster.endpoint,
        region_name="us-east-1",
        config=BotoConfig(signature_version=UNSIGNED),
    )


def _grants(resp: dict[str, Any]) -> list[tuple[str, str]]:
    """(grantee, permission) pairs in order: the id or the group URI."""
    return [
        (g["Grantee"].get("ID") or g["Grantee"]["URI"], g["Permission"]) for g in resp["Grants"]
    ]


def _public_policy(bucket: str, principal: Any = "*") -> str:
    """Everyone (or ``principal``) may GetObject."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


# --- object ACLs ---------------------------------------------------------------------


def test_canned_object_acls_are_returned_as_aws_expands_them(
    s3_cluster: S3Cluster, bucket: str
) -> None:
    ada = s3_cluster.client("ada")
    cases = {
        "private": [("alpha", "FULL_CONTROL")],
        "public-read": [("alpha", "FULL_CONTROL"), (ALL, "READ")],
        "public-read-write": [("alpha", "FULL_CONTROL"), (ALL, "READ"), (ALL, "WRITE")],
        "authenticated-read": [("alpha", "FULL_CONTROL"), (AUTH, "READ")],
        "bucket-owner-full-control": [("alpha", "FULL_CONTROL")],
    }
    for canned, expected in cases.items():
        ada.put_object(Bucket=bucket, Key=canned, Body=b"x", ACL=canned)
        resp = ada.get_object_acl(Bucket=bucket, Key=canned)
        assert _grants(resp) == expected, canned
        assert resp["Owner"]["ID"] == "alpha"
    status, code, _ = _err(lambda: ada.put_object(Bucket=bucket, Key="k", Body=b"", ACL="nope"))
    assert (status, code) == (400, "InvalidArgument")


def test_object_acl_grants_by_id_read_acp_write_acp(s3_cluster: S3Cluster, bucket: str) -> None:
    ada, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    ada.put_object(Bucket=bucket, Key="doc", Body=b"shared")
    policy = {
        "Owner": {"ID": "alpha"},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": "alpha"}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": "beta"}, "Permission": "READ"},
            {"Grantee": {"Type": "CanonicalUser", "ID": "beta:bob"}, "Permission": "READ_ACP"},
        ],
    }
    ada.put_object_acl(Bucket=bucket, Key="doc", AccessControlPolicy=policy)
    assert _grants(ada.get_object_acl(Bucket=bucket, Key="doc")) == [
        ("alpha", "FULL_CONTROL"),
        ("beta", "READ"),
        ("beta:bob", "READ_ACP"),
    ]
    assert bob.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"shared"
    assert len(bob.get_object_acl(Bucket=bucket, Key="doc")["Grants"]) == 3  # READ_ACP
    # No WRITE_ACP: bob may not change the ACL.
    assert _err(lambda: bob.put_object_acl(Bucket=bucket, Key="doc", ACL="private"))[1] == (
        "AccessDenied"
    )
    assert _err(lambda: _anonymous(s3_cluster).get_object(Bucket=bucket, Key="doc"))[1] == (
        "AccessDenied"
    )
    # WRITE_ACP (headers this time): bob may now change it, but not share it further.
    ada.put_object_acl(
        Bucket=bucket, Key="doc", GrantRead='id="beta"', GrantWriteACP='id="beta:bob"'
    )
    assert _grants(ada.get_object_acl(Bucket=bucket, Key="doc")) == [
        ("beta", "READ"),
        ("beta:bob", "WRITE_ACP"),
    ]
    assert (
        _err(lambda: bob.put_object_acl(Bucket=bucket, Key="doc", ACL="public-read"))[1]
        == "AccessDenied"
    )
    bob.put_object_acl(Bucket=bucket, Key="doc", ACL="private")
    assert _err(lambda: bob.get_object(Bucket=bucket, Key="doc"))[1] == "AccessDenied"
    # FULL_CONTROL gives READ and READ_ACP.
    ada.put_object_acl(Bucket=bucket, Key="doc", GrantFullControl='id="beta"')
    assert bob.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"shared"
    assert _grants(bob.get_object_acl(Bucket=bucket, Key="doc")) == [("beta", "FULL_CONTROL")]


def test_group_grants_and_bad_grantees(s3_cluster: S3Cluster, bucket: str) -> None:
    ada, anon = s3_cluster.client("ada"), _anonymous(s3_cluster)
    ada.put_object(Bucket=bucket, Key="g", Body=b"group", GrantRead=f'uri="{ALL}"')
    assert anon.get_object(Bucket=bucket, Key="g")["Body"].read() == b"group"
    ada.put_object_acl(Bucket=bucket, Key="g", GrantRead=f'uri="{AUTH}"')
    assert _err(lambda: anon.get_object(Bucket=bucket, Key="g"))[1] == "AccessDenied"
    assert s3_cluster.client("bob").get_object(Bucket=bucket, Key="g")["Body"].read() == b"group"
    email = 'emailAddress="someone@example.com"'
    for call in (
        lambda: ada.put_object_acl(Bucket=bucket, Key="g", GrantRead=email),
        lambda: ada.put_bucket_acl(Bucket=bucket, GrantWrite=email),
        lambda: ada.put_bucket_acl(
            Bucket=bucket,
            AccessControlPolicy={
                "Owner": {"ID": "alpha"},
                "Grants": [
                    {
                        "Grantee": {
                            "Type": "AmazonCustomerByEmail",
                            "EmailAddress": "someone@example.com",
                        },
                        "Permission": "READ",
                    }
                ],
            },
        ),
    ):
        status, code, message = _err(call)
        assert (status, code) == (400, "UnresolvableGrantByEmailAddress")
        assert message == "The e-mail address you provided does not match any account on record."
    for bad in ('id="no-such-project"', 'uri="http://example.com/group"'):
        status, code, _ = _err(
            lambda b=bad: ada.put_object_acl(Bucket=bucket, Key="g", GrantRead=b)
        )
        assert (status, code) == (400, "InvalidArgument"), bad
    assert (
        _err(
            lambda: ada.put_object_acl(Bucket=bucket, Key="g", ACL="private", GrantRead='id="beta"')
        )[1]
        == "InvalidRequest"
    )


def test_members_grant_nothing_but_acl_only_users_need_their_own_grant(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    assert _err(lambda: s3.put_object_acl(Bucket=bucket, Key="k", GrantRead='id="beta"'))[1] == (
        "AccessDenied"
    )
    carol = s3_cluster.client("carol")  # alpha's ACL-only user: the owner's grant is not hers
    assert _err(lambda: carol.get_object(Bucket=bucket, Key="k"))[1] == "AccessDenied"
    s3_cluster.client("ada").put_object_acl(Bucket=bucket, Key="k", GrantRead='id="alpha:carol"')
    assert carol.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"


# --- bucket ACLs ---------------------------------------------------------------------


def test_bucket_acl_grants_in_every_form(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    ada, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    ada.put_bucket_acl(Bucket=bucket, GrantReadACP='id="beta"', GrantWrite='id="beta:bob"')
    expected = {("beta", "READ_ACP"), ("beta:bob", "WRITE")}
    assert set(_grants(s3.get_bucket_acl(Bucket=bucket))) == expected
    assert set(_grants(bob.get_bucket_acl(Bucket=bucket))) == expected  # READ_ACP
    bob.put_object(Bucket=bucket, Key="from-bob", Body=b"b")  # WRITE
    assert _err(lambda: bob.list_objects_v2(Bucket=bucket))[1] == "AccessDenied"  # no READ
    # WRITE_ACP is not enough for another project: the bucket ACL stays with the owner.
    ada.put_bucket_acl(Bucket=bucket, GrantWriteACP='id="beta"', GrantRead='id="beta"')
    assert _err(lambda: bob.put_bucket_acl(Bucket=bucket, ACL="private"))[1] == "AccessDenied"
    assert bob.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    xml = {
        "Owner": {"ID": "alpha"},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": "alpha"}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "Group", "URI": AUTH}, "Permission": "READ"},
            {"Grantee": {"Type": "CanonicalUser", "ID": "beta"}, "Permission": "FULL_CONTROL"},
        ],
    }
    ada.put_bucket_acl(Bucket=bucket, AccessControlPolicy=xml)
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == [
        ("alpha", "FULL_CONTROL"),
        (AUTH, "READ"),
        ("beta", "FULL_CONTROL"),
    ]
    info = s3_cluster.run(s3_cluster.core.head_container("AUTH_alpha", bucket))
    assert (info.read_acl, info.write_acl) == ("*:*,beta", "beta")  # the same grants in Swift
    bob.put_object(Bucket=bucket, Key="again", Body=b"b")
    # A Swift ACL changed afterwards wins over the grants kept for S3.
    s3_cluster.run(
        s3_cluster.core.post_container("AUTH_alpha", bucket, system={"read-acl": ".r:*"})
    )
    assert (ALL, "READ") in _grants(s3.get_bucket_acl(Bucket=bucket))


def test_canned_acl_on_create_bucket_returned_exactly(
    s3_cluster: S3Cluster, bucket_name: str
) -> None:
    ada = s3_cluster.client("ada")
    ada.create_bucket(Bucket=bucket_name, ACL="public-read")
    assert _grants(ada.get_bucket_acl(Bucket=bucket_name)) == [
        ("alpha", "FULL_CONTROL"),
        (ALL, "READ"),
    ]
    ada.create_bucket(Bucket=bucket_name + "-g", GrantFullControl='id="beta"')
    assert _grants(ada.get_bucket_acl(Bucket=bucket_name + "-g")) == [("beta", "FULL_CONTROL")]


# --- Object Ownership ----------------------------------------------------------------


def test_object_writer_and_bucket_owner_preferred(s3_cluster: S3Cluster, bucket: str) -> None:
    ada, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    ada.put_bucket_acl(Bucket=bucket, GrantWrite='id="beta"')
    bob.put_object(Bucket=bucket, Key="mine", Body=b"bob's")
    acl = bob.get_object_acl(Bucket=bucket, Key="mine")  # the writer owns it: FULL_CONTROL
    assert acl["Owner"]["ID"] == "beta" and _grants(acl) == [("beta", "FULL_CONTROL")]
    assert bob.get_object(Bucket=bucket, Key="mine")["Body"].read() == b"bob's"
    bob.put_object(Bucket=bucket, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    assert _grants(ada.get_object_acl(Bucket=bucket, Key="given")) == [
        ("beta", "FULL_CONTROL"),
        ("alpha", "FULL_CONTROL"),
    ]
    ada.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    )
    bob.put_object(Bucket=bucket, Key="pref", Body=b"p", ACL="bucket-owner-full-control")
    acl = ada.get_object_acl(Bucket=bucket, Key="pref")
    assert acl["Owner"]["ID"] == "alpha" and _grants(acl) == [("alpha", "FULL_CONTROL")]
    bob.put_object(Bucket=bucket, Key="kept", Body=b"k")
    assert ada.get_object_acl(Bucket=bucket, Key="kept")["Owner"]["ID"] == "beta"


def test_bucket_owner_enforced_disables_acls(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    ada, anon = s3_cluster.client("ada"), _anonymous(s3_cluster)
    status, code, message = _err(lambda: s3.get_bucket_ownership_controls(Bucket=bucket))
    assert (status, code, message) == (
        404,
        "OwnershipControlsNotFoundError",
        "The bucket ownership controls were not found",
    )
    ada.put_object(Bucket=bucket, Key="was-public", Body=b"w", ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="was-public")["Body"].read() == b"w"
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert (
        _err(lambda: s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced))[1]
        == "AccessDenied"
    )  # a member: who gets in is the admin's to say
    ada.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
    got = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert got == enforced
    # Stored ACLs grant nothing now; reading an ACL shows the owner's full control.
    assert _err(lambda: anon.get_object(Bucket=bucket, Key="was-public"))[1] == "AccessDenied"
    assert _grants(s3.get_object_acl(Bucket=bucket, Key="was-public")) == [
        ("alpha", "FULL_CONTROL")
    ]
    for call in (
        lambda: ada.put_object(Bucket=bucket, Key="p", Body=b"p", ACL="public-read"),
        lambda: ada.put_object(Bucket=bucket, Key="p", Body=b"p", GrantRead='id="beta"'),
        lambda: ada.put_object_acl(Bucket=bucket, Key="was-public", ACL="public-read"),
        lambda: ada.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: ada.copy_object(
            Bucket=bucket, Key="c", CopySource=f"{bucket}/was-public", ACL="authenticated-read"
        ),
    ):
        status, code, message = _err(call)
        assert (status, code, message) == (
            400,
            "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
        )
    s3.put_object(Bucket=bucket, Key="ok", Body=b"o", ACL="bucket-owner-full-control")
    s3.put_object(Bucket=bucket, Key="ok2", Body=b"o")
    ada.put_bucket_acl(Bucket=bucket, ACL="private")
    ada.delete_bucket_ownership_controls(Bucket=bucket)
    assert _err(lambda: s3.get_bucket_ownership_controls(Bucket=bucket))[1] == (
        "OwnershipControlsNotFoundError"
    )
    assert anon.get_object(Bucket=bucket, Key="was-public")["Body"].read() == b"w"


def test_enforcing_needs_a_private_bucket_acl(s3_cluster: S3Cluster, bucket: str) -> None:
    ada = s3_cluster.client("ada")
    ada.put_bucket_acl(Bucket=bucket, ACL="public-read")
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    status, code, _ = _err(
        lambda: ada.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
    )
    assert (status, code) == (400, "InvalidBucketAclWithObjectOwnership")
    status, code, _ = _err(
        lambda: ada.create_bucket(
            Bucket=bucket + "-new", ObjectOwnership="BucketOwnerEnforced", ACL="public-read"
        )
    )
    assert (status, code) == (400, "InvalidBucketAclWithObjectOwnership")
    ada.create_bucket(Bucket=bucket + "-new", ObjectOwnership="BucketOwnerEnforced")
    got = ada.get_bucket_ownership_controls(Bucket=bucket + "-new")["OwnershipControls"]
    assert got["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    bad = {"Rules": [{"ObjectOwnership": "Nobody"}]}
    assert (
        _err(lambda: ada.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=bad))[1]
        == "MalformedXML"
    )
    bob = s3_cluster.client("bob")
    assert _err(lambda: bob.get_bucket_ownership_controls(Bucket=bucket))[1] == "AccessDenied"


# --- Block Public Access and policy status ----------------------------------------------


def test_public_access_block_round_trip(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    ada = s3_cluster.client("ada")
    status, code, message = _err(lambda: s3.get_public_access_block(Bucket=bucket))
    assert (status, code, message) == (
        404,
        "NoSuchPublicAccessBlockConfiguration",
        "The public access block configuration was not found",
    )
    config = {"BlockPublicAcls": True, "RestrictPublicBuckets": True}
    assert (
        _err(
            lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)
        )[1]
        == "AccessDenied"
    )
    ada.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True,
    }
    assert _err(lambda: s3.delete_public_access_block(Bucket=bucket))[1] == "AccessDenied"
    ada.delete_public_access_block(Bucket=bucket)
    assert _err(lambda: s3.get_public_access_block(Bucket=bucket))[1] == (
        "NoSuchPublicAccessBlockConfiguration"
    )


def test_block_public_acls(s3_cluster: S3Cluster, bucket: str) -> None:
    ada = s3_cluster.client("ada")
    ada.put_object(Bucket=bucket, Key="k", Body=b"k")
    ada.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
    )
    for call in (
        lambda: ada.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: ada.put_bucket_acl(Bucket=bucket, GrantRead=f'uri="{AUTH}"'),
        lambda: ada.put_object(Bucket=bucket, Key="p", Body=b"p", ACL="public-read"),
        lambda: ada.put_object_acl(Bucket=bucket, Key="k", ACL="authenticated-read"),
        lambda: ada.create_multipart_upload(Bucket=bucket, Key="m", ACL="public-read-write"),
    ):
        assert _err(call)[:2] == (403, "AccessDenied")
    ada.put_object_acl(Bucket=bucket, Key="k", GrantRead='id="beta"')  # not public
    ada.put_bucket_acl(Bucket=bucket, ACL="private")


def test_ignore_public_acls(s3_cluster: S3Cluster, bucket: str) -> None:
    ada, anon, bob = s3_cluster.client("ada"), _anonymous(s3_cluster), s3_cluster.client("bob")
    ada.put_object(Bucket=bucket, Key="pub", Body=b"p", ACL="public-read")
    ada.put_object(Bucket=bucket, Key="beta", Body=b"b", GrantRead='id="beta"')
    ada.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"p"
    assert anon.list_objects_v2(Bucket=bucket)["KeyCount"] == 2
    ada.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True}
    )
    assert _err(lambda: anon.get_object(Bucket=bucket, Key="pub"))[1] == "AccessDenied"
    assert _err(lambda: anon.list_objects_v2(Bucket=bucket))[1] == "AccessDenied"
    assert bob.get_object(Bucket=bucket, Key="beta")["Body"].read() == b"b"  # not public
    ada.delete_public_access_block(Bucket=bucket)
    assert anon.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"p"


def test_block_public_policy_and_policy_status(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    ada = s3_cluster.client("ada")
    status, code, _ = _err(lambda: s3.get_bucket_policy_status(Bucket=bucket))
    assert (status, code) == (404, "NoSuchBucketPolicy")
    ada.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicPolicy": True}
    )
    assert _err(lambda: ada.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket)))[
        :2
    ] == (403, "AccessDenied")
    for_beta = _public_policy(bucket, {"AWS": "arn:aws:iam::beta:root"})
    ada.put_bucket_policy(Bucket=bucket, Policy=for_beta)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": False}
    from_office = json.loads(_public_policy(bucket))
    from_office["Statement"][0]["Condition"] = {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}
    ada.put_bucket_policy(Bucket=bucket, Policy=json.dumps(from_office))  # not public
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": False}
    ada.delete_public_access_block(Bucket=bucket)
    ada.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": True}


def test_restrict_public_buckets(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    ada, anon, bob = s3_cluster.client("ada"), _anonymous(s3_cluster), s3_cluster.client("bob")
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    carol = s3_cluster.client("carol")
    ada.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    for who in (anon, bob, carol):
        assert who.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"
    ada.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True}
    )
    for who in (anon, bob):
        assert _err(lambda w=who: w.get_object(Bucket=bucket, Key="k"))[1] == "AccessDenied"
    assert carol.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"  # the owner's account
    ada.delete_public_access_block(Bucket=bucket)
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"


def test_native_api_honours_ignore_public_acls_and_enforced_ownership(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    """The settings hold for the container's own ACLs too: anonymous and other-project
    reads through the native API are refused while they are on."""
    import urllib.error
    import urllib.request

    import swiftclient

    s3.put_object(Bucket=bucket, Key="k", Body=b"native")
    bob = s3_cluster.users["bob"]
    url, token = swiftclient.get_auth(s3_cluster.auth_url, "beta:bob", bob.key)
    alpha_url = url.replace("AUTH_beta", "AUTH_alpha") + f"/{bucket}/k"

    def status(headers: dict[str, str]) -> int:
        try:
            with urllib.request.urlopen(urllib.request.Request(alpha_url, headers=headers)) as r:
                return r.status
        except urllib.error.HTTPError as err:
            return err.code

    ada = s3_cluster.client("ada")
    ada.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert status({}) == 200
    ada.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True}
    )
    assert status({}) in (401, 403)
    ada.delete_public_access_block(Bucket=bucket)
    assert status({}) == 200
    ada.put_bucket_acl(Bucket=bucket, GrantRead='id="beta"')
    assert status({"X-Auth-Token": token}) == 200
    # A sharing ACL must go before enforcing; set it again through Swift afterwards.
    ada.put_bucket_acl(Bucket=bucket, ACL="private")
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    ada.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
    s3_cluster.run(
        s3_cluster.core.post_container("AUTH_alpha", bucket, system={"read-acl": "beta"})
    )
    assert status({"X-Auth-Token": token}) == 403
    ada.delete_bucket_ownership_controls(Bucket=bucket)
    assert status({"X-Auth-Token": token}) == 200
