"""Listings show each object's own owner (issue 16): under ObjectWriter an object another
project writes is that project's, in ListObjects, ListObjectsV2 with fetch-owner,
ListMultipartUploads and ListParts (Owner and Initiator); under BucketOwnerEnforced
everything is the bucket owner's."""

from __future__ import annotations

from typing import Any

from tests.functional.s3compat.conftest import S3Cluster


def _owners(contents: list[dict[str, Any]]) -> dict[str, str]:
    return {c["Key"]: c["Owner"]["ID"] for c in contents}


def test_listings_show_the_writer_as_owner(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    ada, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    s3.put_object(Bucket=bucket, Key="alices", Body=b"a")
    assert _owners(s3.list_objects(Bucket=bucket)["Contents"]) == {"alices": "alpha"}
    ada.put_bucket_acl(Bucket=bucket, GrantWrite='id="beta"', GrantRead='id="beta"')
    bob.put_object(Bucket=bucket, Key="bobs", Body=b"b")
    bob.put_object(Bucket=bucket, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    want = {"alices": "alpha", "bobs": "beta", "given": "beta"}  # ObjectWriter: the writer's
    for lister in (s3, bob):
        assert _owners(lister.list_objects(Bucket=bucket)["Contents"]) == want
        v2 = lister.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
        assert _owners(v2) == want
    assert all("Owner" not in c for c in s3.list_objects_v2(Bucket=bucket)["Contents"])

    uid = bob.create_multipart_upload(Bucket=bucket, Key="up")["UploadId"]
    s3.create_multipart_upload(Bucket=bucket, Key="up2")
    uploads = {u["Key"]: u for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]}
    assert uploads["up"]["Owner"]["ID"] == "beta"
    assert uploads["up"]["Initiator"] == {"ID": "beta:bob", "DisplayName": "bob"}
    assert uploads["up2"]["Owner"]["ID"] == "alpha"
    assert uploads["up2"]["Initiator"]["ID"] == "alpha:alice"
    parts = bob.list_parts(Bucket=bucket, Key="up", UploadId=uid)
    assert (parts["Owner"]["ID"], parts["Initiator"]["ID"]) == ("beta", "beta:bob")

    # BucketOwnerEnforced: the bucket owner owns every object, old ones too.
    ada.put_bucket_acl(Bucket=bucket, ACL="private")
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    ada.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
    everyone_alpha = dict.fromkeys(want, "alpha")
    assert _owners(s3.list_objects(Bucket=bucket)["Contents"]) == everyone_alpha
    uploads = {u["Key"]: u for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]}
    assert uploads["up"]["Owner"]["ID"] == "alpha"


def test_version_listings_show_each_versions_writer(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    ada, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ada.put_bucket_acl(Bucket=bucket, GrantWrite='id="beta"', GrantRead='id="beta"')
    mine = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    bobs = bob.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]  # now current
    s3.put_object(Bucket=bucket, Key="other", Body=b"3")
    marker = bob.delete_object(Bucket=bucket, Key="other")["VersionId"]
    listed = s3.list_object_versions(Bucket=bucket)
    owners = {v["VersionId"]: v["Owner"]["ID"] for v in listed["Versions"]}
    assert owners[mine] == "alpha" and owners[bobs] == "beta", owners
    (dm,) = listed["DeleteMarkers"]
    assert dm["VersionId"] == marker and dm["Owner"]["ID"] == "beta"
