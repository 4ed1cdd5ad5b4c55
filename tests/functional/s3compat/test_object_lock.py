"""S3 Object Lock against a real cluster: configuration, retention, legal hold, enforcement.

AWS's documented behaviour is the reference (status, error code, message);
the native API and the core must refuse to remove a locked version too.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import swiftclient
from aiohttp import web
from botocore.exceptions import ClientError

from objectstore.client import NodeClient
from objectstore.proxy.core import ProxyCore, Rings
from s3compat.app import make_s3_app
from tests.functional.s3compat.conftest import PREFIX, SUFFIX, S3Cluster
from tests.functional.s3compat.test_cross_api import swift  # noqa: F401  (native API client)
from tests.helpers.net import free_port

LOCKED = "Access Denied because object protected by object lock."


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    e = exc.value.response
    return (
        e["ResponseMetadata"]["HTTPStatusCode"],
        e["Error"]["Code"],
        e["Error"].get("Message", ""),
    )


def _later(**delta: float) -> datetime:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0)


@pytest.fixture
def locked(s3: Any, bucket_name: str) -> str:
    """A bucket created with Object Lock (beside ``bucket``, a plain one)."""
    name = "lock-" + bucket_name
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _put_governed(s3: Any, bucket: str, key: str = "k", days: float = 1) -> str:
    return s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=b"data",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=_later(days=days),
    )["VersionId"]


# --- bucket configuration ------------------------------------------------------


def test_create_with_lock_turns_versioning_on(s3: Any, locked: str, bucket: str) -> None:
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    conf = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert conf == {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as exc:
        s3.get_object_lock_configuration(Bucket=bucket)
    assert _err(exc) == (
        404,
        "ObjectLockConfigurationNotFoundError",
        "Object Lock configuration does not exist for this bucket",
    )
    with pytest.raises(ClientError) as exc:  # versioning cannot be suspended any more
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    assert _err(exc)[:2] == (409, "InvalidBucketState")


def test_put_configuration_and_its_errors(s3: Any, locked: str, bucket: str) -> None:
    rule = {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}
    conf = {"ObjectLockEnabled": "Enabled", "Rule": rule}
    with pytest.raises(ClientError) as exc:  # an unversioned bucket cannot take a lock
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=conf)
    assert _err(exc) == (
        409,
        "InvalidBucketState",
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
    )
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=conf)
    got = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got == conf

    def default(**retention: Any) -> dict[str, Any]:
        return {**conf, "Rule": {"DefaultRetention": retention}}

    bad: list[tuple[dict[str, Any], str]] = [
        ({"ObjectLockEnabled": "Disabled"}, "MalformedXML"),
        ({"Rule": rule}, "MalformedXML"),
        ({**conf, "Rule": {}}, "MalformedXML"),
        (default(Mode="GOVERNANCE"), "MalformedXML"),
        (default(Mode="GOVERNANCE", Days=1, Years=1), "MalformedXML"),
        (default(Mode="governance", Days=1), "MalformedXML"),
        (default(Mode="GOVERNANCE", Days=0), "InvalidArgument"),
        (default(Mode="GOVERNANCE", Years=-1), "InvalidArgument"),
        (default(Mode="GOVERNANCE", Years=101), "InvalidArgument"),
    ]
    for doc, code in bad:
        with pytest.raises(ClientError) as exc:
            s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=doc)
        assert _err(exc)[:2] == (400, code), doc
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"] == conf
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
    )  # the default retention goes; the lock stays
    got = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got == {"ObjectLockEnabled": "Enabled"}


def test_lock_on_an_existing_versioned_bucket(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
    )
    vid = _put_governed(s3, bucket)
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=vid)
    assert _err(exc) == (403, "AccessDenied", LOCKED)


def test_default_retention_applies_to_new_versions(s3: Any, locked: str) -> None:
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    before = datetime.now(UTC)
    s3.put_object(Bucket=locked, Key="d", Body=b"x")
    head = s3.head_object(Bucket=locked, Key="d")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert before + timedelta(days=2) - timedelta(seconds=5) < until
    assert until < before + timedelta(days=2, seconds=60)
    assert "ObjectLockLegalHoldStatus" not in head
    explicit = _later(days=5)  # explicit headers win over the default
    s3.put_object(
        Bucket=locked,
        Key="e",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=explicit,
    )
    got = s3.get_object_retention(Bucket=locked, Key="e")["Retention"]
    assert got == {"Mode": "COMPLIANCE", "RetainUntilDate": explicit}
    # multipart uploads and copies take the default too
    uid = s3.create_multipart_upload(Bucket=locked, Key="m")["UploadId"]
    etag = s3.upload_part(Bucket=locked, Key="m", UploadId=uid, PartNumber=1, Body=b"p")["ETag"]
    s3.complete_multipart_upload(
        Bucket=locked,
        Key="m",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.head_object(Bucket=locked, Key="m")["ObjectLockMode"] == "GOVERNANCE"
    s3.copy_object(Bucket=locked, Key="c", CopySource={"Bucket": locked, "Key": "e"})
    assert s3.get_object_retention(Bucket=locked, Key="c")["Retention"]["Mode"] == "GOVERNANCE"


# --- PutObject headers -------------------------------------------------------------


def test_put_object_lock_headers(s3: Any, locked: str, bucket: str) -> None:
    until = _later(days=1)
    vid = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
        ObjectLockLegalHoldStatus="ON",
    )["VersionId"]
    for reply in (
        s3.head_object(Bucket=locked, Key="k"),
        s3.get_object(Bucket=locked, Key="k", VersionId=vid),
    ):
        assert reply["ObjectLockMode"] == "GOVERNANCE"
        assert reply["ObjectLockRetainUntilDate"] == until
        assert reply["ObjectLockLegalHoldStatus"] == "ON"
    raw = s3.head_object(Bucket=locked, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert raw["x-amz-object-lock-retain-until-date"] == until.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"] == {"Status": "ON"}
    cases: list[tuple[str, dict[str, Any], str]] = [
        (bucket, {"ObjectLockLegalHoldStatus": "ON"},
         "Bucket is missing Object Lock Configuration"),
        (locked, {"ObjectLockMode": "GOVERNANCE"},
         "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"),
        (locked, {"ObjectLockRetainUntilDate": until},
         "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"),
        (locked, {"ObjectLockMode": "FOREVER", "ObjectLockRetainUntilDate": until},
         "Unknown wormMode directive."),
        (locked, {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": _later(days=-1)},
         "The retain until date must be in the future!"),
        (locked, {"ObjectLockLegalHoldStatus": "MAYBE"},
         "Legal Hold must be either of 'ON' or 'OFF'"),
    ]  # fmt: skip
    for target, extra, message in cases:
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket=target, Key="bad", Body=b"x", **extra)
        code = "InvalidRequest" if target == bucket else "InvalidArgument"
        assert _err(exc) == (400, code, message), extra


def test_put_object_lock_headers_need_a_digest(s3_cluster: S3Cluster, locked: str) -> None:
    plain = s3_cluster.client(request_checksum_calculation="when_required")
    with pytest.raises(ClientError) as exc:
        plain.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert _err(exc) == (
        400,
        "InvalidRequest",
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
        "with Object Lock parameters",
    )
    plain.put_object(Bucket=locked, Key="k", Body=b"x")  # no lock asked: no digest needed


# --- retention ---------------------------------------------------------------------


def test_retention_errors(s3: Any, locked: str, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    ret = {"Mode": "GOVERNANCE", "RetainUntilDate": _later(days=1)}
    for call in (
        lambda: s3.put_object_retention(Bucket=bucket, Key="k", Retention=ret),
        lambda: s3.get_object_retention(Bucket=bucket, Key="k"),
        lambda: s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "ON"}),
        lambda: s3.get_object_legal_hold(Bucket=bucket, Key="k"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == (400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
    for call in (
        lambda: s3.get_object_retention(Bucket=locked, Key="k"),
        lambda: s3.get_object_legal_hold(Bucket=locked, Key="k"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == (
            404,
            "NoSuchObjectLockConfiguration",
            "The specified object does not have a ObjectLock configuration",
        )
    for bad in ({"Mode": "FOREVER", "RetainUntilDate": _later(days=1)}, {"Mode": "GOVERNANCE"}):
        with pytest.raises(ClientError) as exc:
            s3.put_object_retention(Bucket=locked, Key="k", Retention=bad)
        assert _err(exc)[:2] == (400, "MalformedXML")
    with pytest.raises(ClientError) as exc:
        s3.put_object_retention(
            Bucket=locked,
            Key="k",
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _later(days=-1)},
        )
    assert _err(exc) == (400, "InvalidArgument", "The retain until date must be in the future!")
    with pytest.raises(ClientError) as exc:
        s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "MAYBE"})
    assert _err(exc)[:2] == (400, "MalformedXML")
    with pytest.raises(ClientError) as exc:
        s3.put_object_retention(Bucket=locked, Key="nope", Retention=ret)
    assert _err(exc)[:2] == (404, "NoSuchKey")


def test_governance_is_weakened_only_with_the_bypass(
    s3_cluster: S3Cluster, s3: Any, locked: str
) -> None:
    vid = _put_governed(s3, locked, days=2)
    longer = {"Mode": "GOVERNANCE", "RetainUntilDate": _later(days=3)}
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": _later(days=1)}
    s3.put_object_retention(Bucket=locked, Key="k", Retention=longer)  # extending: always
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == longer
    for retention in (shorter, {}):
        with pytest.raises(ClientError) as exc:
            s3.put_object_retention(Bucket=locked, Key="k", VersionId=vid, Retention=retention)
        assert _err(exc) == (403, "AccessDenied", LOCKED)
    s3.put_object_retention(
        Bucket=locked, Key="k", Retention=shorter, BypassGovernanceRetention=True
    )
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == shorter
    # a policy Deny of s3:BypassGovernanceRetention wins over the member's role
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:BypassGovernanceRetention",
                "Resource": f"arn:aws:s3:::{locked}/*",
            }
        ],
    }
    s3_cluster.client("ada").put_bucket_policy(Bucket=locked, Policy=json.dumps(policy))
    with pytest.raises(ClientError) as exc:
        s3.put_object_retention(
            Bucket=locked, Key="k", Retention={}, BypassGovernanceRetention=True
        )
    assert _err(exc) == (403, "AccessDenied", LOCKED)
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert _err(exc) == (403, "AccessDenied", LOCKED)
    s3_cluster.client("ada").delete_bucket_policy(Bucket=locked)
    s3.put_object_retention(Bucket=locked, Key="k", Retention={}, BypassGovernanceRetention=True)
    with pytest.raises(ClientError) as exc:
        s3.get_object_retention(Bucket=locked, Key="k")
    assert _err(exc)[1] == "NoSuchObjectLockConfiguration"
    s3.delete_object(Bucket=locked, Key="k", VersionId=vid)  # nothing holds it now


def test_bypass_for_another_project_needs_a_policy(
    s3_cluster: S3Cluster, s3: Any, locked: str
) -> None:
    vid = _put_governed(s3, locked)
    bob = s3_cluster.client("bob")

    def allow(*actions: str) -> None:
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": "beta"},
            "Action": list(actions),
            "Resource": f"arn:aws:s3:::{locked}/*",
        }
        doc = {"Version": "2012-10-17", "Statement": [statement]}
        s3_cluster.client("ada").put_bucket_policy(Bucket=locked, Policy=json.dumps(doc))

    allow("s3:DeleteObjectVersion")
    with pytest.raises(ClientError) as exc:
        bob.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert _err(exc) == (403, "AccessDenied", LOCKED)
    allow("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention")
    bob.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert "Versions" not in s3.list_object_versions(Bucket=locked)


def test_compliance_is_never_weakened(s3: Any, locked: str) -> None:
    until = _later(days=2)
    vid = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    for retention in (
        {"Mode": "COMPLIANCE", "RetainUntilDate": _later(days=1)},
        {"Mode": "GOVERNANCE", "RetainUntilDate": _later(days=3)},
        {},
    ):
        with pytest.raises(ClientError) as exc:
            s3.put_object_retention(
                Bucket=locked, Key="k", Retention=retention, BypassGovernanceRetention=True
            )
        assert _err(exc) == (403, "AccessDenied", LOCKED), retention
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert _err(exc) == (403, "AccessDenied", LOCKED)
    longer = {"Mode": "COMPLIANCE", "RetainUntilDate": _later(days=4)}
    s3.put_object_retention(Bucket=locked, Key="k", Retention=longer)
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == longer


def test_governance_may_become_compliance(s3: Any, locked: str) -> None:
    _put_governed(s3, locked)
    stricter = {"Mode": "COMPLIANCE", "RetainUntilDate": _later(days=2)}
    s3.put_object_retention(Bucket=locked, Key="k", Retention=stricter)
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == stricter


# --- enforcement --------------------------------------------------------------------


def test_delete_marker_and_overwrite_are_allowed(s3: Any, locked: str) -> None:
    vid = _put_governed(s3, locked)
    newer = s3.put_object(Bucket=locked, Key="k", Body=b"v2")["VersionId"]
    assert newer != vid
    marker = s3.delete_object(Bucket=locked, Key="k")
    assert marker["DeleteMarker"] is True
    versions = s3.list_object_versions(Bucket=locked)
    assert [v["VersionId"] for v in versions["Versions"]] == [newer, vid]
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid)
    assert _err(exc) == (403, "AccessDenied", LOCKED)
    # the archived version keeps its retention, and still reads
    got = s3.get_object(Bucket=locked, Key="k", VersionId=vid)
    assert got["Body"].read() == b"data" and got["ObjectLockMode"] == "GOVERNANCE"
    s3.delete_object(Bucket=locked, Key="k", VersionId=marker["VersionId"])  # restores newer
    s3.delete_object(Bucket=locked, Key="k", VersionId=newer)  # no retention: goes
    # the locked version is current again, moved back despite its retention
    assert s3.head_object(Bucket=locked, Key="k")["VersionId"] == vid
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid)
    assert _err(exc) == (403, "AccessDenied", LOCKED)
    s3.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert "Versions" not in s3.list_object_versions(Bucket=locked)


def test_legal_hold_stops_deletes_even_with_the_bypass(s3: Any, locked: str) -> None:
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x")["VersionId"]
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="k", VersionId=vid)["LegalHold"] == {
        "Status": "ON"
    }
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert _err(exc) == (403, "AccessDenied", LOCKED)
    s3.put_object_legal_hold(Bucket=locked, Key="k", VersionId=vid, LegalHold={"Status": "OFF"})
    assert s3.head_object(Bucket=locked, Key="k")["ObjectLockLegalHoldStatus"] == "OFF"
    s3.delete_object(Bucket=locked, Key="k", VersionId=vid)


def test_delete_objects_refuses_locked_versions(s3: Any, locked: str) -> None:
    governed = _put_governed(s3, locked, "g")
    free = s3.put_object(Bucket=locked, Key="f", Body=b"x")["VersionId"]
    s3.put_object(Bucket=locked, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")
    held = s3.head_object(Bucket=locked, Key="h")["VersionId"]
    objects = [
        {"Key": "g", "VersionId": governed},
        {"Key": "f", "VersionId": free},
        {"Key": "h", "VersionId": held},
        {"Key": "h"},  # no version id: a delete marker
    ]
    out = s3.delete_objects(Bucket=locked, Delete={"Objects": objects})
    errors = {(e["Key"], e["Code"], e["Message"]) for e in out["Errors"]}
    assert errors == {("g", "AccessDenied", LOCKED), ("h", "AccessDenied", LOCKED)}
    assert sorted(d["Key"] for d in out["Deleted"]) == ["f", "h"]
    out = s3.delete_objects(
        Bucket=locked, Delete={"Objects": objects[:1]}, BypassGovernanceRetention=True
    )
    assert [d["Key"] for d in out["Deleted"]] == ["g"] and "Errors" not in out


def test_native_api_cannot_remove_a_locked_version(
    s3: Any,
    swift: Any,  # noqa: F811
    locked: str,
) -> None:
    _put_governed(s3, locked)
    with pytest.raises(swiftclient.ClientException) as exc:
        swift.delete_object(locked, "k")
    assert exc.value.http_status == 409
    swift.put_object(locked, "other", contents=b"o")
    for overwrite in (
        lambda: swift.put_object(locked, "k", contents=b"replaced"),
        lambda: swift.copy_object(locked, "other", f"/{locked}/k"),
    ):
        with pytest.raises(swiftclient.ClientException) as exc:
            overwrite()
        assert exc.value.http_status == 409
    assert s3.get_object(Bucket=locked, Key="k")["Body"].read() == b"data"
    s3.delete_object(Bucket=locked, Key="k")  # archived behind a delete marker
    hidden = f"{locked}+versions"
    names = [o["name"] for o in swift.get_container(hidden)[1]]
    archived = [n for n in names if swift.head_object(hidden, n).get("content-length") == "4"]
    assert len(archived) == 1
    with pytest.raises(swiftclient.ClientException) as exc:
        swift.delete_object(hidden, archived[0])
    assert exc.value.http_status == 409
    # X-Delete-At waits for the retention: the version neither expires nor hides
    swift.post_object(hidden, archived[0], headers={"X-Delete-At": str(int(time.time()) + 1)})
    time.sleep(2.2)
    assert swift.get_object(hidden, archived[0])[1] == b"data"
    # an object without retention in the same container still goes
    swift.put_object(locked, "plain", contents=b"p")
    swift.delete_object(locked, "plain")


def test_state_survives_a_proxy_restart(s3_cluster: S3Cluster, s3: Any, locked: str) -> None:
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 1}}
    conf = {"ObjectLockEnabled": "Enabled", "Rule": rule}
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=conf)
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    retention = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]
    port = free_port()

    async def start() -> web.AppRunner:  # a second proxy: fresh core, no cached state
        rings = Rings.load(s3_cluster.root / "rings", prefix=PREFIX, suffix=SUFFIX)
        core = ProxyCore(s3_cluster.config, rings, NodeClient(NodeClient.make_session()))
        runner = web.AppRunner(make_s3_app(core, s3_cluster.identity, s3_cluster.config))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    runner = s3_cluster.run(start())
    try:
        alice = s3_cluster.users["alice"]
        fresh = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=alice.access,
            aws_secret_access_key=alice.secret,
            region_name="us-east-1",
        )
        got = fresh.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
        assert got == conf
        assert fresh.get_object_retention(Bucket=locked, Key="k")["Retention"] == retention
        assert fresh.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"]["Status"] == "ON"
        with pytest.raises(ClientError) as exc:
            fresh.delete_object(Bucket=locked, Key="k", VersionId=vid)
        assert _err(exc) == (403, "AccessDenied", LOCKED)
    finally:
        s3_cluster.run(runner.cleanup())
