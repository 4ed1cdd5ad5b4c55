"""Versioned keys up to S3's 1,024-byte limit: overwritten, listed in order, paged, deleted.

An archived version's name in the hidden versions container is longer than
its key, so keys near the limit take the digest-named path; these tests mix
them with short keys sharing their prefixes so that ListObjectVersions'
order (key, then newest first) is checked across both kinds of names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from objectstore.proxy.errors import ContainerNotFound
from objectstore.proxy.models import ListParams
from tests.functional.s3compat.conftest import S3Cluster

K = "k" * 1000
LONG = K + "/" + "v" * 23  # 1,024 bytes
LONG_22 = K + "/" + "v" * 22  # 1,023 bytes
EURO = "€" * 341 + "x"  # 1,024 bytes of UTF-8
EURO_341 = "€" * 341  # 1,023 bytes
SHORT = [K, K + "/", K + "0", "€" * 300]  # short enough for the plain names
ALL = sorted([LONG, LONG_22, EURO, EURO_341, *SHORT], key=str.encode)

Row = tuple[str, str, bool, bool]  # key, version id, is latest, is a delete marker


@pytest.fixture
def s3(s3: Any) -> Any:
    s3.meta.events.register("before-parse.s3.ListObjectVersions", _in_order)
    return s3


def _enable(s3: Any, bucket: str, status: str = "Enabled") -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def _in_order(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Keep the answer's rows in document order (boto3 splits versions from markers)."""
    if response_dict["status_code"] != 200:
        return
    root = ElementTree.fromstring(response_dict["body"])
    decode = unquote if root.findtext("{*}EncodingType") == "url" else str  # boto3 asks for url
    rows = []
    for el in root:
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in ("Version", "DeleteMarker"):
            key, vid = decode(el.findtext("{*}Key") or ""), el.findtext("{*}VersionId")
            rows.append((key, vid, el.findtext("{*}IsLatest") == "true", tag != "Version"))
    customized_response_dict["Ordered"] = rows


def _rows(page: dict[str, Any]) -> list[Row]:
    """A page's rows in document order: its versions, then its delete markers."""
    return page["Ordered"]


def _split(rows: list[Row]) -> list[Row]:
    """``rows`` as one page shows them (Stratus writes a page's markers after its versions)."""
    return [r for r in rows if not r[3]] + [r for r in rows if r[3]]


def _listed(s3: Any, bucket: str, **kw: Any) -> list[Row]:
    page = s3.list_object_versions(Bucket=bucket, **kw)
    assert not page["IsTruncated"]
    return _rows(page)


def _paged(s3: Any, bucket: str, **kw: Any) -> list[Row]:
    """Every row, one per page, through KeyMarker and VersionIdMarker."""
    out: list[Row] = []
    markers: dict[str, str] = {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=1, **kw, **markers)
        got = _rows(page)
        assert len(got) <= 1
        out += got
        if not page["IsTruncated"]:
            return out
        assert (page["NextKeyMarker"], page["NextVersionIdMarker"]) == got[0][:2]
        markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": got[0][1]}


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_long_keys_keep_every_version_in_order(s3: Any, bucket: str) -> None:
    _enable(s3, bucket)
    ids: dict[str, list[str]] = {}
    for round_ in range(3):
        for key in ALL:
            if key in SHORT and round_ == 2:
                continue
            body = f"{round_}:{len(key)}".encode()
            ids.setdefault(key, []).append(
                s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]
            )
    expected = [(k, v, i == 0, False) for k in ALL for i, v in enumerate(reversed(ids[k]))]
    assert _listed(s3, bucket) == expected
    assert _paged(s3, bucket) == expected
    for key in ALL:
        for round_, vid in enumerate(ids[key]):
            got = s3.get_object(Bucket=bucket, Key=key, VersionId=vid)
            assert got["Body"].read() == f"{round_}:{len(key)}".encode()
            assert got["VersionId"] == vid
            assert s3.head_object(Bucket=bucket, Key=key, VersionId=vid)["VersionId"] == vid
    # Prefixes, delimiters and a key marker without a version id marker.
    assert _listed(s3, bucket, Prefix=K + "/v") == [
        r for r in expected if r[0].startswith(K + "/v")
    ]
    grouped = s3.list_object_versions(Bucket=bucket, Prefix=K, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == [K + "/"]
    assert _rows(grouped) == [r for r in expected if r[0] in (K, K + "0")]
    after = _listed(s3, bucket, KeyMarker=LONG_22)
    assert after == [r for r in expected if r[0].encode() > LONG_22.encode()]
    assert _paged(s3, bucket, Prefix="€") == [r for r in expected if r[0].startswith("€")]
    mid = {"KeyMarker": LONG, "VersionIdMarker": ids[LONG][1]}  # within a long key's versions
    assert _listed(s3, bucket, Prefix=K, **mid) == [(LONG, ids[LONG][0], False, False)] + [
        r for r in expected if r[0] == K + "0"
    ]
    assert _listed(s3, bucket, Prefix="€", **mid) == [r for r in expected if r[0][0] == "€"]
    # One row or common prefix per page, rolled up at "/" (two long keys in K + "/").
    seen: list[Row | str] = []
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    for page in pages:
        seen += _rows(page) + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert seen == [r for r in expected if r[0] == K] + [K + "/"] + [
        r for r in expected if r[0] > K and not r[0].startswith(K + "/")
    ]
    # The middle version of a long key, by id: the others stay, in order.
    s3.delete_object(Bucket=bucket, Key=EURO, VersionId=ids[EURO][1])
    ids[EURO].pop(1)
    expected = [(k, v, i == 0, False) for k in ALL for i, v in enumerate(reversed(ids[k]))]
    assert _paged(s3, bucket) == expected


def _names(cluster: S3Cluster, container: str) -> list[str] | None:
    """The object names in one of the bucket's hidden containers (None: no container)."""

    async def names() -> list[str] | None:
        try:
            _info, rows = await cluster.core.list_objects("AUTH_alpha", container, ListParams())
        except ContainerNotFound:
            return None
        return [r.name for r in rows]

    return cluster.run(names())


def test_long_keys_take_delete_markers_and_empty_out(
    s3: Any, bucket: str, s3_cluster: S3Cluster
) -> None:
    _enable(s3, bucket)
    ids = {
        k: [s3.put_object(Bucket=bucket, Key=k, Body=b"x")["VersionId"] for _ in range(3)]
        for k in ALL
    }
    indexed = [k for k in ALL if len(k.encode()) > 1002]
    assert _names(s3_cluster, bucket + "+versionkeys") == indexed
    archived = _names(s3_cluster, bucket + "+versions") or []
    # Every version is in the history, the current one too (its copy is in the bucket).
    assert all(len(n.encode()) <= 1024 for n in archived) and len(archived) == 3 * len(ALL)
    markers = {}
    for key in (LONG, EURO, K):
        answer = s3.delete_object(Bucket=bucket, Key=key)
        assert answer["DeleteMarker"] is True
        markers[key] = answer["VersionId"]
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket=bucket, Key=key)
        assert _code(exc) == "NoSuchKey"
        headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amz-delete-marker"] == "true"
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket=bucket, Key=key, VersionId=markers[key])
        assert _code(exc) == "MethodNotAllowed"
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [c["Key"] for c in listed["Contents"]] == [k for k in ALL if k not in markers]
    expected: list[Row] = []
    for k in ALL:
        newest_first = [(k, v, False, False) for v in reversed(ids[k])]
        if k in markers:
            expected += [(k, markers[k], True, True), *newest_first]
        else:
            expected += [(k, newest_first[0][1], True, False), *newest_first[1:]]
    assert _paged(s3, bucket) == expected
    assert _listed(s3, bucket) == _split(expected)
    # The marker goes: the newest version is current again.
    s3.delete_object(Bucket=bucket, Key=LONG, VersionId=markers.pop(LONG))
    got = s3.get_object(Bucket=bucket, Key=LONG)
    assert got["VersionId"] == ids[LONG][-1]
    # Every version and marker by id, some through DeleteObjects: the bucket empties.
    s3.delete_object(Bucket=bucket, Key=EURO, VersionId=markers[EURO])
    for key in ALL:
        for vid in ids[key][:1]:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=vid)
    rest = [{"Key": r[0], "VersionId": r[1]} for r in _paged(s3, bucket)]
    assert len(rest) == 2 * len(ALL) + 1  # K's marker is left
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": rest})
    assert len(answer["Deleted"]) == len(rest) and not answer.get("Errors")
    assert _listed(s3, bucket) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert _names(s3_cluster, bucket + "+versionkeys") == []  # the last entry took its key
    s3.delete_bucket(Bucket=bucket)
    assert _names(s3_cluster, bucket + "+versionkeys") is None


def test_keys_full_of_escaped_characters(s3: Any, bucket: str, s3_cluster: S3Cluster) -> None:
    """\\x01 doubles in the plain names: such keys go long well before 1,024 bytes."""
    keys = ["\x01" * 1024, "\x01" * 600, "\x01" * 500 + "a", "\x01" * 1000 + "b"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")  # the "null" version
    ids = {k: ["null"] for k in keys}
    _enable(s3, bucket)
    for key in keys:
        ids[key] += [s3.put_object(Bucket=bucket, Key=key, Body=b"y")["VersionId"]]
    ordered = sorted(keys, key=str.encode)
    expected = [(k, v, i == 0, False) for k in ordered for i, v in enumerate(reversed(ids[k]))]
    assert expected[1][1] == "null"
    assert _paged(s3, bucket) == expected
    assert _listed(s3, bucket, KeyMarker="\x01" * 1024) == expected[4:]
    assert len(_names(s3_cluster, bucket + "+versionkeys") or []) == 3  # \x01 * 500 + "a" fits
    for key, vid, _latest, _marker in expected:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=vid)
    assert _listed(s3, bucket) == []
    s3.delete_bucket(Bucket=bucket)


def test_suspended_long_keys_keep_one_null_version(s3: Any, bucket: str) -> None:
    _enable(s3, bucket)
    first = s3.put_object(Bucket=bucket, Key=EURO, Body=b"one")["VersionId"]
    _enable(s3, bucket, "Suspended")
    s3.put_object(Bucket=bucket, Key=EURO, Body=b"two")
    s3.put_object(Bucket=bucket, Key=EURO, Body=b"three")  # replaces the null version
    assert _listed(s3, bucket) == [(EURO, "null", True, False), (EURO, first, False, False)]
    s3.delete_object(Bucket=bucket, Key=EURO)  # a null marker replaces the null version
    assert _paged(s3, bucket) == [(EURO, "null", True, True), (EURO, first, False, False)]
    _enable(s3, bucket)
    again = s3.put_object(Bucket=bucket, Key=EURO, Body=b"four")["VersionId"]
    assert _paged(s3, bucket) == [
        (EURO, again, True, False),
        (EURO, "null", False, True),
        (EURO, first, False, False),
    ]
    assert s3.get_object(Bucket=bucket, Key=EURO, VersionId=first)["Body"].read() == b"one"
    for vid in (again, "null", first):
        s3.delete_object(Bucket=bucket, Key=EURO, VersionId=vid)
    assert _listed(s3, bucket) == []
    s3.delete_bucket(Bucket=bucket)
