"""A version listing after concurrent creates and removes (Ceph s3-tests'
``test_versioned_concurrent_object_create_*``): every version a listing shows is
readable, concurrent deletes of the same versions all succeed (AWS: deleting a
missing version answers 204), and once everything is removed the listing is empty.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.functional.s3compat.conftest import S3Cluster


def _versioned(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _listed(s3: Any, bucket: str) -> list[tuple[str, str]]:
    out = s3.list_object_versions(Bucket=bucket)
    rows = out.get("Versions", []) + out.get("DeleteMarkers", [])
    return [(v["Key"], v["VersionId"]) for v in rows]


def _clear(s3: Any, bucket: str) -> int:
    """Delete every version listed now; how many deletes answered."""
    done = 0
    for key, vid in _listed(s3, bucket):
        resp = s3.delete_object(Bucket=bucket, Key=key, VersionId=vid)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
        done += 1
    return done


def test_concurrent_creates_then_concurrent_removes(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    _versioned(s3, bucket)
    clients = [s3_cluster.client("alice") for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        made = list(
            pool.map(
                lambda i: clients[i % 4].put_object(Bucket=bucket, Key="myobj", Body=b"%d" % i)[
                    "VersionId"
                ],
                range(10),
            )
        )
    assert len(set(made)) == 10
    listed = _listed(s3, bucket)
    assert sorted(v for _k, v in listed) == sorted(made)
    newest = s3.list_object_versions(Bucket=bucket)["Versions"][0]
    assert newest["IsLatest"] is True
    body = s3.get_object(Bucket=bucket, Key="myobj")["Body"].read()
    assert (
        s3.get_object(Bucket=bucket, Key="myobj", VersionId=newest["VersionId"])["Body"].read()
        == body
    )
    with ThreadPoolExecutor(3) as pool:  # three clearers race over the same versions
        list(pool.map(lambda c: _clear(c, bucket), clients[:3]))
    assert _listed(s3, bucket) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_creates_and_removes_interleaved(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    clients = [s3_cluster.client("alice") for _ in range(4)]

    def create(i: int) -> None:
        for n in range(5):
            clients[i].put_object(Bucket=bucket, Key=f"obj{n % 2}", Body=b"%d-%d" % (i, n))

    def remove(i: int) -> None:
        _clear(clients[i], bucket)

    with ThreadPoolExecutor(6) as pool:
        jobs = [pool.submit(create, i % 4) for i in range(3)] + [
            pool.submit(remove, (i + 1) % 4) for i in range(3)
        ]
        for job in jobs:
            job.result()
    # whatever survived is listed consistently: each listed version reads back
    for key, vid in _listed(s3, bucket):
        s3.head_object(Bucket=bucket, Key=key, VersionId=vid)
    latest = {
        v["Key"]: v["VersionId"]
        for v in s3.list_object_versions(Bucket=bucket).get("Versions", [])
        if v["IsLatest"]
    }
    for key, vid in latest.items():
        assert s3.head_object(Bucket=bucket, Key=key)["VersionId"] == vid
    _clear(s3, bucket)
    assert _listed(s3, bucket) == []
