"""A locked multipart object's bytes are locked too: its segments refuse the native API.

The object is a manifest in the bucket; its bytes are segments in the hidden
``<bucket>+segments`` container, which the native (Swift) API can reach. They
follow the manifest's retention and legal hold: set at Complete, changed by
PutObjectRetention and PutObjectLegalHold, and S3's own permitted deletes
(a GOVERNANCE bypass) still remove them.
"""

from __future__ import annotations

from typing import Any

import pytest
import swiftclient

from tests.functional.s3compat.conftest import MiB, S3Cluster, segment_names
from tests.functional.s3compat.test_cross_api import swift  # noqa: F401  (native API client)
from tests.functional.s3compat.test_object_lock import _later, locked  # noqa: F401

PARTS = [b"a" * (5 * MiB), b"tail"]


def _multipart(s3: Any, bucket: str, key: str, **create: Any) -> str:
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    parts = []
    for n, data in enumerate(PARTS, start=1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data)
        parts.append({"PartNumber": n, "ETag": etag["ETag"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts}
    )
    return done["VersionId"]


def _refused(swift_conn: Any, container: str, name: str) -> None:
    with pytest.raises(swiftclient.ClientException) as exc:
        swift_conn.delete_object(container, name)
    assert exc.value.http_status == 409
    with pytest.raises(swiftclient.ClientException) as exc:
        swift_conn.put_object(container, name, contents=b"replaced")
    assert exc.value.http_status == 409


def test_segments_of_a_retained_object_refuse_native_deletes(
    s3_cluster: S3Cluster,
    s3: Any,
    swift: Any,  # noqa: F811
    locked: str,  # noqa: F811
) -> None:
    vid = _multipart(
        s3, locked, "mp", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_later(days=1)
    )
    segs = segment_names(s3_cluster, locked)
    assert len(segs) == 2
    for name in segs:
        _refused(swift, f"{locked}+segments", name)
    body = s3.get_object(Bucket=locked, Key="mp", VersionId=vid)["Body"].read()
    assert body == b"".join(PARTS)  # every byte still there
    # A permitted GOVERNANCE bypass removes the version, and S3 takes its segments with it.
    s3.delete_object(Bucket=locked, Key="mp", VersionId=vid, BypassGovernanceRetention=True)
    assert segment_names(s3_cluster, locked) == []


def test_legal_hold_and_retention_changes_reach_the_segments(
    s3_cluster: S3Cluster,
    s3: Any,
    swift: Any,  # noqa: F811
    locked: str,  # noqa: F811
) -> None:
    vid = _multipart(s3, locked, "held")
    segs = segment_names(s3_cluster, locked)
    s3.put_object_legal_hold(Bucket=locked, Key="held", VersionId=vid, LegalHold={"Status": "ON"})
    _refused(swift, f"{locked}+segments", segs[0])
    s3.put_object_legal_hold(Bucket=locked, Key="held", VersionId=vid, LegalHold={"Status": "OFF"})
    s3.put_object_retention(
        Bucket=locked, Key="held", VersionId=vid,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": _later(days=1)},
    )  # fmt: skip
    _refused(swift, f"{locked}+segments", segs[1])
    # Without a lock the segments are ordinary objects again (a plain bucket's are).
    vid2 = _multipart(s3, locked, "free")
    free = sorted(set(segment_names(s3_cluster, locked)) - set(segs))
    assert len(free) == 2 and vid2
    swift.delete_object(f"{locked}+segments", free[0])
