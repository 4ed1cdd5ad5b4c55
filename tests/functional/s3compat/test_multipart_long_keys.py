"""Multipart uploads of keys up to S3's 1,024-byte limit, through boto3 (issue 22).

Records of such keys take a digest name with an index named by the key (see
``s3compat.upload_keys``); these tests check every multipart call on them,
ListMultipartUploads' exact order and paging among short keys sharing their
prefixes, and that nothing is left behind.
"""

from __future__ import annotations

from typing import Any

from objectstore.proxy.errors import ContainerNotFound
from objectstore.proxy.models import ListParams
from tests.functional.s3compat.conftest import MiB, S3Cluster, segment_names

ASCII_MAX = "k" * 1000 + "/" + "v" * 23  # 1,024 bytes
EURO_MAX = "€" * 341 + "x"  # 1,024 bytes of UTF-8
#: Short keys (plain record names) around the long ones, sharing their prefixes;
#: 988 bytes is the longest key whose record keeps the plain name.
SHORT = ["k" * 10 + "/a", "k" * 988, "k" * 500 + "z", "€" * 100, "€" * 329 + "a"]
LONG = ["k" * 989, "k" * 1000 + "/a", "€" * 341 + "w"]

Item = tuple[str, str] | str  # an upload (key, id) or a common prefix


def _names(cluster: S3Cluster, container: str) -> list[str] | None:
    """Object names in a hidden container (None: no such container)."""

    async def names() -> list[str] | None:
        try:
            _info, rows = await cluster.core.list_objects("AUTH_alpha", container, ListParams())
        except ContainerNotFound:
            return None
        return [r.name for r in rows]

    return cluster.run(names())


def _model(uploads: list[tuple[str, str]], prefix: str = "", delimiter: str = "") -> list[Item]:
    """What S3 lists: uploads in UTF-8 byte order of keys, then ids; roll-ups once."""
    out: list[Item] = []
    for key, uid in sorted(uploads, key=lambda u: (u[0].encode(), u[1])):
        if not key.startswith(prefix):
            continue
        if delimiter and delimiter in key[len(prefix) :]:
            common = key[: key.index(delimiter, len(prefix)) + len(delimiter)]
            if common not in out:
                out.append(common)
            continue
        out.append((key, uid))
    return out


def _items(page: dict[str, Any]) -> list[Item]:
    ups: list[Item] = [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
    return ups + [p["Prefix"] for p in page.get("CommonPrefixes", [])]


def _paged(s3: Any, bucket: str, size: int, **kw: Any) -> list[Item]:
    """Every page of ListMultipartUploads, following NextKeyMarker/NextUploadIdMarker."""
    out: list[Item] = []
    markers: dict[str, str] = {}
    for _ in range(100):
        page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=size, **kw, **markers)
        items = _items(page)
        assert len(items) <= size
        out += sorted(items, key=lambda i: (i if isinstance(i, str) else i[0]).encode())
        if not page["IsTruncated"]:
            return out
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if page.get("NextUploadIdMarker"):
            markers["UploadIdMarker"] = page["NextUploadIdMarker"]
    raise AssertionError("ListMultipartUploads never ended")


def test_every_multipart_call_works_on_keys_at_the_limit(
    s3: Any, bucket: str, s3_cluster: S3Cluster
) -> None:
    for key in SHORT + LONG + [ASCII_MAX, EURO_MAX]:
        assert (len(key.encode()) > 988) == (key in LONG or key in (ASCII_MAX, EURO_MAX))
    big = bytes(range(256)) * (5 * MiB // 256)  # parts but the last are at least 5 MiB
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789" * 10)
    uploads: list[tuple[str, str]] = []
    for key in SHORT + LONG + [ASCII_MAX, EURO_MAX, ASCII_MAX]:
        uploads.append((key, s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]))
    ascii_uid, euro_uid, spare_uid = (u[1] for u in uploads[-3:])

    done: dict[str, list[dict[str, Any]]] = {}
    for key, uid in ((ASCII_MAX, ascii_uid), (EURO_MAX, euro_uid)):
        one = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=big)
        if key == ASCII_MAX:
            two = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=b"end")
            etag2 = two["ETag"]
        else:
            two = s3.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=uid,
                PartNumber=2,
                CopySource={"Bucket": bucket, "Key": "src"},
                CopySourceRange="bytes=0-2",
            )
            etag2 = two["CopyPartResult"]["ETag"]
        done[key] = [{"PartNumber": 1, "ETag": one["ETag"]}, {"PartNumber": 2, "ETag": etag2}]
        listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)
        assert listed["Key"] == key
        assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, len(big)), (2, 3)]
        paged = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, MaxParts=1)
        assert paged["IsTruncated"] and [p["PartNumber"] for p in paged["Parts"]] == [1]

    # ListMultipartUploads: exact order, paging, prefixes and roll-ups, long and short mixed.
    whole = s3.list_multipart_uploads(Bucket=bucket)
    assert _items(whole) == _model(uploads)
    assert len(whole["Uploads"]) == len(uploads) == 11
    for size in (1, 2, 3):
        assert _paged(s3, bucket, size) == _model(uploads)
    for prefix, delimiter in (("k" * 10, "/"), ("", "/"), ("k" * 989, ""), ("€" * 300, "x")):
        kw = {"Prefix": prefix, "Delimiter": delimiter} if delimiter else {"Prefix": prefix}
        assert _paged(s3, bucket, 1, **kw) == _model(uploads, prefix, delimiter), kw
    after = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=ASCII_MAX)
    assert _items(after) == [u for u in _model(uploads) if u[0].encode() > ASCII_MAX.encode()]
    first = min(ascii_uid, spare_uid)
    within = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=ASCII_MAX, UploadIdMarker=first)
    assert _items(within)[0] == (ASCII_MAX, max(ascii_uid, spare_uid))

    # Abort of a long key's other upload leaves its key (still uploading) indexed.
    s3.abort_multipart_upload(Bucket=bucket, Key=ASCII_MAX, UploadId=spare_uid)
    uploads.remove((ASCII_MAX, spare_uid))
    assert _items(s3.list_multipart_uploads(Bucket=bucket)) == _model(uploads)
    assert ASCII_MAX in (_names(s3_cluster, bucket + "+uploadkeys") or [])

    for key, uid in ((ASCII_MAX, ascii_uid), (EURO_MAX, euro_uid)):
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": done[key]}
        )
        tail = b"end" if key == ASCII_MAX else b"012"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == big + tail
        uploads.remove((key, uid))
    assert _items(s3.list_multipart_uploads(Bucket=bucket)) == _model(uploads)
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [c["Key"] for c in listed["Contents"]] == [ASCII_MAX, "src", EURO_MAX]
    assert listed["KeyCount"] == 3
    assert [c["Size"] for c in listed["Contents"]] == [len(big) + 3, 100, len(big) + 3]

    # Aborting the rest leaves no record and no index object behind.
    for key, uid in uploads:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert _names(s3_cluster, bucket + "+uploadkeys") == []
    assert [n for n in segment_names(s3_cluster, bucket) if n.startswith("u/")] == []
    for key in (ASCII_MAX, EURO_MAX, "src"):
        s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert segment_names(s3_cluster, bucket) == []  # the parts went with the objects
    s3.delete_bucket(Bucket=bucket)
    assert _names(s3_cluster, bucket + "+uploadkeys") is None


def test_abort_of_a_long_key_upload_leaves_nothing(
    s3: Any, bucket: str, s3_cluster: S3Cluster
) -> None:
    for key in (ASCII_MAX, EURO_MAX):
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"x")
        assert _names(s3_cluster, bucket + "+uploadkeys") == [key]
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)
        assert _names(s3_cluster, bucket + "+uploadkeys") == []
        assert segment_names(s3_cluster, bucket) == []
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_bucket_delete_drops_unfinished_long_key_uploads(
    s3: Any, bucket: str, s3_cluster: S3Cluster
) -> None:
    s3.create_multipart_upload(Bucket=bucket, Key=EURO_MAX)
    s3.delete_bucket(Bucket=bucket)
    assert _names(s3_cluster, bucket + "+uploadkeys") is None
    assert _names(s3_cluster, bucket + "+segments") is None
