"""Versions stored before "each write stores its own version first" still list and read.

Before, the bucket (container) held the current version only there, and the
versions container every other one. Those stores are written here through
the core exactly as the old code left them; then they are read, and written
to, through the APIs: nothing is migrated ahead of use.
"""

from __future__ import annotations

from typing import Any

import swiftclient

from objectstore.proxy.models import ObjectMetadata
from objectstore.proxy.swift.middleware import versions_listing as vl
from objectstore.proxy.swift.middleware import versions_names as vn
from objectstore.timestamp import Timestamp
from s3compat import meta, versioning
from tests.functional.s3compat.conftest import S3Cluster

ACCOUNT = "AUTH_alpha"


def test_s3_versions_of_the_old_layout(s3_cluster: S3Cluster, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = [versioning.new_version_id(Timestamp(1_700_000_000 + n)) for n in range(3)]

    async def store() -> None:
        core = s3_cluster.core
        for n, vid in enumerate(old[:2]):  # archived versions, as the old archive() left them
            md = ObjectMetadata(
                system={meta.VERSION_ID: vid, versioning.MTIME: Timestamp(1_700_000_000 + n).normal}
            )
            name = versioning.entry_name("k", vid)
            await core.put_object(ACCOUNT, versioning.container_for(bucket), name, b"v%d" % n, md)
        md = ObjectMetadata(system={meta.VERSION_ID: old[2]})  # the current one: the bucket's only
        await core.put_object(ACCOUNT, bucket, "k", b"v2", md)

    s3_cluster.run(store())

    def listed() -> list[tuple[str, bool]]:
        out = s3.list_object_versions(Bucket=bucket)
        return [(v["VersionId"], v["IsLatest"]) for v in out["Versions"]]

    assert listed() == [(old[2], True), (old[1], False), (old[0], False)]
    for n, vid in enumerate(old):
        assert s3.get_object(Bucket=bucket, Key="k", VersionId=vid)["Body"].read() == b"v%d" % n
    new = s3.put_object(Bucket=bucket, Key="k", Body=b"new")["VersionId"]
    assert listed() == [(new, True), (old[2], False), (old[1], False), (old[0], False)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=old[2])["Body"].read() == b"v2"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=new)  # the old current is current again
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["VersionId"], got["Body"].read()) == (old[2], b"v2")
    assert listed() == [(old[2], True), (old[1], False), (old[0], False)]


def test_swift_versions_of_the_old_layout(s3_cluster: S3Cluster, bucket_name: str) -> None:
    alice = s3_cluster.users["alice"]
    swift = swiftclient.Connection(
        authurl=s3_cluster.auth_url, user="alpha:alice", key=alice.key, retries=0
    )
    swift.put_container(bucket_name, headers={"X-Versions-Enabled": "true"})
    t1, t2 = Timestamp(1_700_000_001.5), Timestamp(1_700_000_002.5)

    async def store() -> None:
        core = s3_cluster.core
        hidden = vn.versions_container(bucket_name)
        md = ObjectMetadata(content_type="text/plain", timestamp=t1)  # archived, as before
        await core.put_object(ACCOUNT, hidden, vn.entry_name("o", t1), b"one", md)
        md = ObjectMetadata(content_type="text/plain", system={vl.VERSION: t2.normal}, timestamp=t2)
        await core.put_object(ACCOUNT, bucket_name, "o", b"two", md)

    s3_cluster.run(store())

    def listed() -> list[tuple[str, bool]]:
        _h, rows = swift.get_container(bucket_name, query_string="versions")
        return [(r["version_id"], r["is_latest"]) for r in rows]

    assert listed() == [(t2.normal, True), (t1.normal, False)]
    for ts, data in ((t1, b"one"), (t2, b"two")):
        _h, body = swift.get_object(bucket_name, "o", query_string=f"version-id={ts.normal}")
        assert body == data
    out: dict[str, Any] = {}
    swift.put_object(bucket_name, "o", contents=b"three", response_dict=out)
    t3 = out["headers"]["x-object-version-id"]
    assert listed() == [(t3, True), (t2.normal, False), (t1.normal, False)]
    _h, body = swift.get_object(bucket_name, "o", query_string=f"version-id={t2.normal}")
    assert body == b"two"
    headers, body = swift.get_object(bucket_name, "o")
    assert (headers["x-object-version-id"], body) == (t3, b"three")
    swift.close()
