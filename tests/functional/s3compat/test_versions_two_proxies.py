"""Concurrent writes of one key through TWO proxy processes keep every acknowledged version.

Each write stores its own version first, named by its own id (objectstore's
versioning layout, s3compat/versioning.py and the native API's
object_versioning), so racing writers through different proxies never
archive the same current object: afterwards every version id a writer was
answered with is listed and reads back its own bytes, and the current
object is the newest. The second proxy is another process (``second_proxy``)
over the same nodes, so nothing in one proxy's memory orders the writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import swiftclient
from botocore.exceptions import ClientError

from s3compat.context import S3Settings
from s3compat.lifecycle_run import run_pass
from tests.functional.s3compat.conftest import S3Cluster

N = 12  # writes per race, split across the two proxies
ROUNDS = 3  # races per test (each on its own key)


def _race(jobs: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(len(jobs)) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


@pytest.fixture
def s3s(s3_cluster: S3Cluster, second_proxy: S3Cluster) -> list[Any]:
    """boto3 clients: even ones through the first proxy, odd ones through the second."""
    return [(s3_cluster, second_proxy)[i % 2].client("alice") for i in range(N)]


def _swift_conn(cluster: S3Cluster) -> Any:
    alice = cluster.users["alice"]
    return swiftclient.Connection(
        authurl=cluster.auth_url, user="alpha:alice", key=alice.key, retries=0
    )


@pytest.fixture
def swifts(s3_cluster: S3Cluster, second_proxy: S3Cluster) -> Iterator[list[Any]]:
    conns = [_swift_conn((s3_cluster, second_proxy)[i % 2]) for i in range(N)]
    yield conns
    for conn in conns:
        conn.close()


def _versioned(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _listing(s3: Any, bucket: str, key: str) -> tuple[dict[str, bool], dict[str, bool]]:
    """{version id: is latest} of the key's versions, and of its delete markers."""
    out = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = {v["VersionId"]: v["IsLatest"] for v in out.get("Versions", []) if v["Key"] == key}
    markers = {
        m["VersionId"]: m["IsLatest"] for m in out.get("DeleteMarkers", []) if m["Key"] == key
    }
    return versions, markers


def _check_s3(s3: Any, bucket: str, key: str, made: dict[str, bytes], marks: set[str]) -> None:
    """Every acknowledged version listed, with its own bytes; the newest is current."""
    versions, markers = _listing(s3, bucket, key)
    assert set(made) <= set(versions), f"lost versions: {sorted(set(made) - set(versions))}"
    assert marks <= set(markers), f"lost delete markers: {sorted(marks - set(markers))}"
    for vid, data in made.items():
        got = s3.get_object(Bucket=bucket, Key=key, VersionId=vid)["Body"].read()
        assert got == data, vid
    newest = max([*made, *marks])  # version ids sort by creation time
    latest = [v for v, is_latest in {**versions, **markers}.items() if is_latest]
    assert latest == [newest]
    if newest in marks:
        with pytest.raises(ClientError) as err:
            s3.get_object(Bucket=bucket, Key=key)
        assert err.value.response["Error"]["Code"] == "NoSuchKey"
    else:
        cur = s3.get_object(Bucket=bucket, Key=key)
        assert (cur["VersionId"], cur["Body"].read()) == (newest, made[newest])


def test_s3_puts_through_two_proxies(s3s: list[Any], bucket: str) -> None:
    _versioned(s3s[0], bucket)
    for r in range(ROUNDS):
        key = f"k{r}"
        bodies = [b"round %d writer %d " % (r, i) * (i + 1) for i in range(N)]

        def put(i: int, key: str = key, bodies: list[bytes] = bodies) -> tuple[str, bytes]:
            resp = s3s[i].put_object(Bucket=bucket, Key=key, Body=bodies[i])
            return resp["VersionId"], bodies[i]

        made = dict(_race([lambda i=i: put(i) for i in range(N)]))
        assert len(made) == N
        _check_s3(s3s[1], bucket, key, made, set())


def test_s3_puts_and_deletes_through_two_proxies(s3s: list[Any], bucket: str) -> None:
    """PutObject racing DeleteObject and DeleteObjects (markers, and old versions by id)."""
    _versioned(s3s[0], bucket)
    for r in range(ROUNDS):
        key = f"d{r}"
        old = {
            s3s[0].put_object(Bucket=bucket, Key=key, Body=b"old %d" % n)["VersionId"]: b""
            for n in range(3)
        }
        doomed = sorted(old)[:2]

        def put(i: int, key: str = key, r: int = r) -> tuple[str, str, bytes]:
            data = b"r%d-%d" % (r, i)
            return "put", s3s[i].put_object(Bucket=bucket, Key=key, Body=data)["VersionId"], data

        def delete(i: int, key: str = key) -> tuple[str, str, bytes]:
            resp = s3s[i].delete_object(Bucket=bucket, Key=key)
            assert resp["DeleteMarker"] is True
            return "marker", resp["VersionId"], b""

        def delete_many(
            i: int, key: str = key, doomed: list[str] = doomed
        ) -> tuple[str, str, bytes]:
            objects: list[dict[str, str]] = [{"Key": key}]
            if i < 8:  # and an old version by id (writers 3 and 7: one through each proxy)
                objects.append({"Key": key, "VersionId": doomed[i // 4]})
            resp = s3s[i].delete_objects(Bucket=bucket, Delete={"Objects": objects})
            assert "Errors" not in resp, resp["Errors"]
            mark = [d for d in resp["Deleted"] if "VersionId" not in d]
            assert mark[0]["DeleteMarker"] is True
            return "marker", mark[0]["DeleteMarkerVersionId"], b""

        kinds = [put, put, delete, delete_many] * (N // 4)
        done = _race([lambda i=i, fn=fn: fn(i) for i, fn in enumerate(kinds)])
        made = {vid: data for kind, vid, data in done if kind == "put"}
        marks = {vid for kind, vid, _data in done if kind == "marker"}
        assert len(made) + len(marks) == N
        versions, _markers = _listing(s3s[1], bucket, key)
        for vid in doomed:  # removed by id: gone for good
            with pytest.raises(ClientError) as err:
                s3s[1].head_object(Bucket=bucket, Key=key, VersionId=vid)
            assert err.value.response["Error"]["Code"] == "404", vid
        assert not set(doomed) & set(versions)
        kept_old = sorted(set(old) - set(doomed))
        assert set(kept_old) <= set(versions)
        _check_s3(s3s[1], bucket, key, made, marks)


def test_s3_puts_and_lifecycle_passes(s3_cluster: S3Cluster, s3s: list[Any], bucket: str) -> None:
    """Lifecycle passes expiring the key (delete markers, as DeleteObject) while PUTs of it
    run through both proxies: every PUT's version is kept; the newest entry is current."""
    _versioned(s3s[0], bucket)
    rule = {"ID": "r", "Filter": {"Prefix": "lc"}, "Status": "Enabled", "Expiration": {"Days": 1}}
    s3s[0].put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [rule]}
    )
    settings = S3Settings(  # a day of one second, the clock a minute on: everything is due
        clock=lambda: datetime.now(UTC) + timedelta(seconds=60), lifecycle_debug_day_seconds=1
    )
    key = "lc"
    s3s[0].put_object(Bucket=bucket, Key=key, Body=b"first")

    def put(i: int) -> tuple[str, bytes]:
        data = b"lc %d" % i
        return s3s[i].put_object(Bucket=bucket, Key=key, Body=data)["VersionId"], data

    def expire() -> tuple[str, bytes]:
        assert not s3_cluster.run(run_pass(s3_cluster.core, settings)).errors
        return "", b""

    done = _race([lambda i=i: put(i) for i in range(N)] + [expire] * 4)
    made = {vid: data for vid, data in done if vid}
    versions, markers = _listing(s3s[1], bucket, key)
    assert set(made) <= set(versions), f"lost versions: {sorted(set(made) - set(versions))}"
    _check_s3(s3s[1], bucket, key, made, set(markers))


def test_s3_and_swift_writes_through_two_proxies(
    s3s: list[Any], swifts: list[Any], bucket: str
) -> None:
    """S3 PutObject and Swift PUT of one key in a versioned bucket, through both proxies:
    every S3 version is kept; the current object is the newest write of either API."""
    _versioned(s3s[0], bucket)
    key = "mixed"

    def put_s3(i: int) -> tuple[str, bytes]:
        data = b"s3 %d" % i
        return s3s[i].put_object(Bucket=bucket, Key=key, Body=data)["VersionId"], data

    def put_swift(i: int) -> tuple[str, bytes]:
        data = b"swift %d" % i
        swifts[i].put_object(bucket, key, contents=data)
        return "", data

    done = _race([lambda i=i: (put_s3 if i % 3 else put_swift)(i) for i in range(N)])
    made = {vid: data for vid, data in done if vid}
    versions, _markers = _listing(s3s[1], bucket, key)
    assert set(made) <= set(versions)
    for vid, data in made.items():
        assert s3s[1].get_object(Bucket=bucket, Key=key, VersionId=vid)["Body"].read() == data
    headers, body = swifts[1].get_object(bucket, key)
    newest_s3 = max(made)
    if body.startswith(b"swift"):  # a native write newer than every S3 version
        assert float(headers["x-timestamp"]) * 1e5 >= int(newest_s3[:14], 16)
    else:
        assert body == made[newest_s3]


def test_swift_object_versioning_through_two_proxies(swifts: list[Any], bucket_name: str) -> None:
    """X-Versions-Enabled: PUTs and DELETEs of one object through both proxies."""
    swifts[0].put_container(bucket_name, headers={"X-Versions-Enabled": "true"})
    for r in range(ROUNDS):
        obj = f"o{r}"

        def put(i: int, obj: str = obj, r: int = r) -> tuple[str, str, bytes]:
            data = b"round %d writer %d" % (r, i)
            out: dict[str, Any] = {}
            swifts[i].put_object(bucket_name, obj, contents=data, response_dict=out)
            return "put", out["headers"]["x-object-version-id"], data

        def delete(i: int, obj: str = obj) -> tuple[str, str, bytes]:
            out: dict[str, Any] = {}
            try:
                swifts[i].delete_object(bucket_name, obj, response_dict=out)
            except swiftclient.ClientException as exc:
                assert exc.http_status == 404  # nothing current at that moment: still a marker
                assert exc.http_response_headers is not None
                return "marker", exc.http_response_headers["x-object-version-id"], b""
            return "marker", out["headers"]["x-object-version-id"], b""

        kinds = ([put, put, put, delete] if r else [put]) * N
        done = _race([lambda i=i, fn=kinds[i]: fn(i) for i in range(N)])
        made = {vid: data for kind, vid, data in done if kind == "put"}
        marks = {vid for kind, vid, _data in done if kind == "marker"}
        _headers, listing = swifts[1].get_container(
            bucket_name, prefix=obj, query_string="versions"
        )
        listed = {row["version_id"]: row for row in listing if row["name"] == obj}
        assert set(made) | marks <= set(listed), f"lost: {sorted(set(made) - set(listed))}"
        for vid, data in made.items():
            _h, got = swifts[0].get_object(bucket_name, obj, query_string=f"version-id={vid}")
            assert got == data, vid
        newest = max([*made, *marks])  # fixed-width timestamps: text order is time order
        assert [v for v, row in listed.items() if row["is_latest"]] == [newest]
        if newest in marks:
            with pytest.raises(swiftclient.ClientException) as err:
                swifts[1].get_object(bucket_name, obj)
            assert err.value.http_status == 404
        else:
            headers, body = swifts[1].get_object(bucket_name, obj)
            assert (headers["x-object-version-id"], body) == (newest, made[newest])
