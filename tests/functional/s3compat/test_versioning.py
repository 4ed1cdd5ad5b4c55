"""Bucket versioning through boto3: real version ids, delete markers, suspension."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import MiB, segment_names, upload_parts


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _versions(s3: Any, bucket: str, **kw: Any) -> list[tuple[str, str, bool, bool]]:
    out = s3.list_object_versions(Bucket=bucket, **kw)
    rows = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in out.get("Versions", [])]
    rows += [(m["Key"], m["VersionId"], m["IsLatest"], True) for m in out.get("DeleteMarkers", [])]
    return rows


def test_versions_markers_and_restore(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v0")  # the "null" version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"v2")["VersionId"]
    assert v1 != v2 and v1 < v2  # ids sort by time
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"v1"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"v0"
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["VersionId"] == v2
    rows = _versions(s3, bucket)
    assert [(r[1], r[2]) for r in rows] == [(v2, True), (v1, False), ("null", False)]
    # Delete without an id: a marker hides the key, versions stay.
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert _code(exc) == "NoSuchKey"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    rows = _versions(s3, bucket)
    assert (marker["VersionId"], True, True) in [(r[1], r[2], r[3]) for r in rows]
    # Deleting the marker brings the newest version back.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    # Deleting the current version by id makes the previous one current.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["Body"].read(), got["VersionId"]) == (b"v1", v1)
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert [r[1] for r in _versions(s3, bucket)] == [v1]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", VersionId="0" * 19 + "1")
    assert _code(exc) == "NoSuchVersion"
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert _code(exc) == "BucketNotEmpty"


def test_suspended_writes_null_versions(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="s", Body=b"one")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="s", Body=b"two")
    s3.put_object(Bucket=bucket, Key="s", Body=b"three")  # replaces the null version
    assert [(r[1], r[2]) for r in _versions(s3, bucket)] == [("null", True), (v1, False)]
    assert s3.get_object(Bucket=bucket, Key="s")["Body"].read() == b"three"
    s3.delete_object(Bucket=bucket, Key="s")  # a null delete marker replaces the null version
    rows = _versions(s3, bucket)
    assert {(r[1], r[2], r[3]) for r in rows} == {("null", True, True), (v1, False, False)}


def test_listing_versions_pages_and_prefixes(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = {}
    for key in ("a/1", "a/2", "b"):
        ids[key] = [s3.put_object(Bucket=bucket, Key=key, Body=b"x")["VersionId"] for _ in range(2)]
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=3)
    assert page["IsTruncated"]
    rest = s3.list_object_versions(
        Bucket=bucket,
        KeyMarker=page["NextKeyMarker"],
        VersionIdMarker=page["NextVersionIdMarker"],
    )
    seen = [(v["Key"], v["VersionId"]) for v in page["Versions"] + rest["Versions"]]
    expected = [(k, vid) for k in ("a/1", "a/2", "b") for vid in reversed(ids[k])]
    assert seen == expected
    grouped = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/"]
    assert [v["Key"] for v in grouped["Versions"]] == ["b", "b"]


def test_multipart_versions_keep_their_segments(s3_cluster: Any, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    parts = [b"p" * (5 * MiB), b"tail"]
    uid, done = upload_parts(s3, bucket, "mp", parts)
    first = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done}
    )["VersionId"]
    s3.put_object(Bucket=bucket, Key="mp", Body=b"plain")
    old = s3.get_object(Bucket=bucket, Key="mp", VersionId=first)
    assert old["Body"].read() == b"".join(parts) and old["ETag"].endswith('-2"')
    assert len(segment_names(s3_cluster, bucket)) == 2
    s3.delete_object(Bucket=bucket, Key="mp", VersionId=first)
    assert segment_names(s3_cluster, bucket) == []
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"plain"


def test_delete_objects_removes_every_version_of_a_key(s3: Any, bucket: str) -> None:
    """The usual way to empty a versioned bucket: list the versions, delete them all at once."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in ("a", "b"):
        for n in range(6):
            s3.put_object(Bucket=bucket, Key=key, Body=str(n).encode())
    s3.delete_object(Bucket=bucket, Key="b")  # a marker on top
    rows = _versions(s3, bucket)
    assert len(rows) == 13
    answer = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": r[0], "VersionId": r[1]} for r in rows]}
    )
    assert len(answer["Deleted"]) == 13 and not answer.get("Errors")
    assert _versions(s3, bucket) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)


def test_listing_versions_pages_through_common_prefixes(s3: Any, bucket: str) -> None:
    """A page that ends on a common prefix: the next one starts after everything under it."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in ("a/1", "a/2", "b", "c/1"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    seen = []
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    for page in pages:
        seen += [v["Key"] for v in page.get("Versions", [])]
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert seen == ["a/", "b", "c/"]
    after = s3.list_object_versions(Bucket=bucket, Delimiter="/", KeyMarker="a/1")
    assert [v["Key"] for v in after["Versions"]] == ["b"]
    assert [p["Prefix"] for p in after["CommonPrefixes"]] == ["c/"]


def test_listing_versions_marker_errors(s3: Any, bucket: str) -> None:
    """AWS's checks of version-id-marker (as Swift's boto3 suite asserts them against AWS)."""
    cases = [
        ({"KeyMarker": "", "VersionIdMarker": "bogus"}, "Invalid version id specified"),
        (
            {"VersionIdMarker": "a" * 32},
            "A version-id marker cannot be specified without a key marker.",
        ),
    ]
    for params, message in cases:
        with pytest.raises(ClientError) as exc:
            s3.list_object_versions(Bucket=bucket, **params)
        err = exc.value.response["Error"]
        assert (err["Code"], err["Message"]) == ("InvalidArgument", message)
    s3.list_object_versions(Bucket=bucket, KeyMarker="k", VersionIdMarker="null")
