"""Bucket lifecycle against a real cluster: configuration, validation, the pass, headers.

AWS's documented behaviour is the reference. The pass runs with a debug
"day" of one second (``s3.lifecycle_debug_day_seconds``) and a clock moved
forward, so rules act without sleeping.
"""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from s3compat.app import make_s3_app
from s3compat.context import S3Settings
from s3compat.lifecycle_run import PassResult, run_pass
from tests.functional.s3compat.conftest import S3Cluster


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    e = exc.value.response
    return (
        e["ResponseMetadata"]["HTTPStatusCode"],
        e["Error"]["Code"],
        e["Error"].get("Message", ""),
    )


def _run(cluster: S3Cluster, ahead: float = 0.0, day: int = 1) -> PassResult:
    """One lifecycle pass with a ``day``-second day, the clock ``ahead`` seconds on."""
    settings = S3Settings(
        clock=lambda: datetime.now(UTC) + timedelta(seconds=ahead),
        lifecycle_debug_day_seconds=day,
    )
    return cluster.run(run_pass(cluster.core, settings))


def _put_rules(s3: Any, bucket: str, *rules: dict[str, Any]) -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)}
    )


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _versions(s3: Any, bucket: str) -> list[tuple[str, str, bool]]:
    out = s3.list_object_versions(Bucket=bucket)
    rows = [(v["Key"], v["VersionId"], False) for v in out.get("Versions", [])]
    rows += [(m["Key"], m["VersionId"], True) for m in out.get("DeleteMarkers", [])]
    return rows


# -- configuration ----------------------------------------------------------

FULL_RULES: list[dict[str, Any]] = [
    {
        "ID": "logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
    },
    {
        "ID": "tagged",
        "Filter": {
            "And": {
                "Prefix": "t/",
                "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                "ObjectSizeGreaterThan": 10,
                "ObjectSizeLessThan": 1000,
            }
        },
        "Status": "Disabled",
        "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)},
    },
    {
        "ID": "tag",
        "Filter": {"Tag": {"Key": "k", "Value": "v"}},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    },
    {
        "ID": "big",
        "Filter": {"ObjectSizeGreaterThan": 500},
        "Status": "Enabled",
        "Expiration": {"Days": 2},
    },
    {
        "ID": "markers",
        "Filter": {},
        "Status": "Enabled",
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    },
]


def test_configuration_round_trip(s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket_name)
    assert _err(exc) == (
        404,
        "NoSuchLifecycleConfiguration",
        "The lifecycle configuration does not exist",
    )
    assert exc.value.response["Error"]["BucketName"] == bucket_name
    _put_rules(s3, bucket_name, *FULL_RULES)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket_name)["Rules"]
    assert got == FULL_RULES
    out = s3.delete_bucket_lifecycle(Bucket=bucket_name)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket_name)
    assert _err(exc)[1] == "NoSuchLifecycleConfiguration"


def test_legacy_prefix_round_trip(s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name)
    rule = {"ID": "old", "Prefix": "a/", "Status": "Enabled", "Expiration": {"Days": 5}}
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket_name, LifecycleConfiguration={"Rules": [rule]}
    )
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket_name)["Rules"] == [rule]


def _rule(**over: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"ID": "r", "Filter": {"Prefix": ""}, "Status": "Enabled"}
    rule.update(over)
    return {k: v for k, v in rule.items() if v is not None}


BAD: list[tuple[Any, int, str, str]] = [
    (
        [_rule(Expiration={"Days": 0})],
        400,
        "InvalidArgument",
        "'Days' for Expiration action must be a positive integer",
    ),
    (
        [_rule(Expiration={"Date": datetime(2030, 1, 1, 12, tzinfo=UTC)})],
        400,
        "InvalidRequest",
        "'Date' must be at midnight GMT",
    ),
    (
        [_rule(NoncurrentVersionExpiration={"NoncurrentDays": 0})],
        400,
        "InvalidArgument",
        "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    ),
    (
        [_rule(AbortIncompleteMultipartUpload={"DaysAfterInitiation": 0})],
        400,
        "InvalidArgument",
        "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive "
        "integer",
    ),
    (
        [
            _rule(
                Filter={"Tag": {"Key": "a", "Value": "b"}},
                AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1},
            )
        ],
        400,
        "InvalidRequest",
        "AbortIncompleteMultipartUpload cannot be specified with Tags.",
    ),
    ([_rule()], 400, "InvalidRequest", "At least one action needs to be specified in a rule"),
    (
        [_rule(ID="x" * 256, Expiration={"Days": 1})],
        400,
        "InvalidArgument",
        "ID length should not exceed allowed limit of 255",
    ),
    (
        [_rule(Expiration={"Days": 1}), _rule(Expiration={"Days": 2})],
        400,
        "InvalidArgument",
        "Rule ID must be unique. Found same ID for more than one rule",
    ),
    (
        [
            _rule(
                Filter={
                    "And": {"Prefix": "a", "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 5}
                },
                Expiration={"Days": 1},
            )
        ],
        400,
        "InvalidRequest",
        "ObjectSizeGreaterThan must be less than ObjectSizeLessThan",
    ),
    (
        [_rule(Expiration={"Days": 1, "ExpiredObjectDeleteMarker": True})],
        400,
        "MalformedXML",
        "",
    ),
    ([_rule(Filter=None, Expiration={"Days": 1})], 400, "MalformedXML", ""),
    (
        [_rule(Transitions=[{"Days": 1, "StorageClass": "GLACIER"}])],
        400,
        "InvalidStorageClass",
        "The storage class you specified is not valid",
    ),
]


@pytest.mark.parametrize(("rules", "status", "code", "message"), BAD)
def test_validation_errors(
    s3_cluster: S3Cluster, bucket_name: str, rules: Any, status: int, code: str, message: str
) -> None:
    s3 = s3_cluster.client("alice", parameter_validation=False)
    s3.create_bucket(Bucket=bucket_name)
    with pytest.raises(ClientError) as exc:
        _put_rules(s3, bucket_name, *rules)
    got = _err(exc)
    assert got[:2] == (status, code)
    if message:
        assert got[2] == message
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket_name)


def test_malformed_documents(s3_cluster: S3Cluster, bucket_name: str) -> None:
    s3 = s3_cluster.client("alice")
    s3.create_bucket(Bucket=bucket_name)
    bad_bodies = [
        b"<LifecycleConfiguration/>",
        b"not xml",
        b"<LifecycleConfiguration><Rule><Filter/><Status>On</Status>"
        b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule><Filter><Prefix>a</Prefix><Tag><Key>k</Key>"
        b"<Value>v</Value></Tag></Filter><Status>Enabled</Status>"
        b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    ]

    def body_as(data: bytes) -> Any:
        def hook(request: Any, **_kw: Any) -> None:
            request.data = data
            for name in list(request.headers.keys()):
                if name.lower().startswith(("x-amz-checksum-", "content-md5", "x-amz-sdk-")):
                    del request.headers[name]

        return hook

    for data in bad_bodies:
        event = "before-sign.s3.PutBucketLifecycleConfiguration"
        hook = body_as(data)
        s3.meta.events.register(event, hook)
        try:
            with pytest.raises(ClientError) as exc:
                _put_rules(s3, bucket_name, _rule(Expiration={"Days": 1}))
        finally:
            s3.meta.events.unregister(event, hook)
        assert _err(exc)[:2] == (400, "MalformedXML"), data


# -- x-amz-expiration -----------------------------------------------------------


def _expiry(header: str) -> tuple[datetime, str]:
    date_part, rule_part = header.split(", rule-id=")
    assert date_part.startswith('expiry-date="') and date_part.endswith('"')
    return parsedate_to_datetime(date_part[13:-1]), rule_part.strip('"')


def test_expiration_header(s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name)
    _put_rules(
        s3,
        bucket_name,
        _rule(ID="short", Filter={"Prefix": "p/"}, Expiration={"Days": 3}),
        _rule(ID="long", Filter={"Prefix": ""}, Expiration={"Days": 10}),
        _rule(ID="tagged", Filter={"Tag": {"Key": "t", "Value": "1"}}, Expiration={"Days": 1}),
    )
    put = s3.put_object(Bucket=bucket_name, Key="p/a", Body=b"x")
    head = s3.head_object(Bucket=bucket_name, Key="p/a")
    when, rule = _expiry(put["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"])
    assert rule == "short"
    # AWS: creation + days, rounded up to the next midnight UTC.
    created = head["LastModified"].timestamp()
    assert when.timestamp() == math.ceil((created + 3 * 86400) / 86400) * 86400
    assert head["Expiration"] == put["Expiration"]
    got = s3.get_object(Bucket=bucket_name, Key="p/a")
    assert got["Expiration"] == put["Expiration"]
    other = s3.put_object(Bucket=bucket_name, Key="q", Body=b"x", Tagging="t=1")
    assert _expiry(other["Expiration"])[1] == "tagged"
    assert _expiry(s3.head_object(Bucket=bucket_name, Key="q")["Expiration"])[1] == "tagged"
    uid = s3.create_multipart_upload(Bucket=bucket_name, Key="p/mpu")["UploadId"]
    etag = s3.upload_part(Bucket=bucket_name, Key="p/mpu", UploadId=uid, PartNumber=1, Body=b"x")[
        "ETag"
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket_name,
        Key="p/mpu",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert _expiry(done["Expiration"])[1] == "short"
    s3.delete_bucket_lifecycle(Bucket=bucket_name)
    assert "Expiration" not in s3.head_object(Bucket=bucket_name, Key="p/a")
    assert "Expiration" not in s3.put_object(Bucket=bucket_name, Key="z", Body=b"")


# -- the pass -----------------------------------------------------------------------


def test_pass_expires_current_objects_unversioned(
    s3_cluster: S3Cluster, s3: Any, bucket_name: str
) -> None:
    s3.create_bucket(Bucket=bucket_name)
    _put_rules(
        s3,
        bucket_name,
        _rule(ID="old", Filter={"Prefix": "old/"}, Expiration={"Days": 5}),
        _rule(ID="big", Filter={"ObjectSizeGreaterThan": 3}, Expiration={"Days": 5}),
        _rule(ID="off", Filter={"Prefix": "off/"}, Status="Disabled", Expiration={"Days": 1}),
    )
    for key, body in [("old/a", b"1"), ("keep", b"1"), ("large", b"12345"), ("off/x", b"")]:
        s3.put_object(Bucket=bucket_name, Key=key, Body=body)
    early = _run(s3_cluster, ahead=0)
    assert early.expired == 0
    assert sorted(_keys(s3, bucket_name)) == ["keep", "large", "off/x", "old/a"]
    done = _run(s3_cluster, ahead=10)
    assert done.expired >= 2 and not done.errors
    assert sorted(_keys(s3, bucket_name)) == ["keep", "off/x"]


def test_pass_versioned_bucket(s3_cluster: S3Cluster, s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    vids = [
        s3.put_object(Bucket=bucket_name, Key="n/k", Body=b"%d" % i)["VersionId"] for i in range(4)
    ]
    s3.put_object(Bucket=bucket_name, Key="gone", Body=b"x")
    marker = s3.delete_object(Bucket=bucket_name, Key="gone")["VersionId"]
    s3.put_object(Bucket=bucket_name, Key="cur/x", Body=b"x")
    _put_rules(
        s3,
        bucket_name,
        _rule(
            ID="nc",
            Filter={"Prefix": "n/"},
            NoncurrentVersionExpiration={"NoncurrentDays": 5, "NewerNoncurrentVersions": 1},
        ),
        _rule(
            ID="nc-gone",
            Filter={"Prefix": "gone"},
            NoncurrentVersionExpiration={"NoncurrentDays": 5},
        ),
        _rule(ID="markers", Filter={"Prefix": ""}, Expiration={"ExpiredObjectDeleteMarker": True}),
        _rule(ID="cur", Filter={"Prefix": "cur/"}, Expiration={"Days": 5}),
    )
    assert _run(s3_cluster, ahead=0).noncurrent == 0
    result = _run(s3_cluster, ahead=20)
    assert not result.errors
    rows = _versions(s3, bucket_name)
    # n/k: the current version and the newest noncurrent one stay.
    assert sorted(v for k, v, _m in rows if k == "n/k") == sorted(vids[2:])
    # gone: its only version went, then its delete marker (now expired) too.
    assert [r for r in rows if r[0] == "gone"] == []
    assert marker not in [v for _k, v, _m in rows]
    # cur/x: expired to a delete marker; the version stays, noncurrent from now on.
    cur = [(v, m) for k, v, m in rows if k == "cur/x"]
    assert sorted(m for _v, m in cur) == [False, True]
    assert "cur/x" not in _keys(s3, bucket_name)
    assert result.expired == 1 and result.markers == 1 and result.noncurrent >= 2


def test_pass_aborts_incomplete_uploads(s3_cluster: S3Cluster, s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name)
    stale = s3.create_multipart_upload(Bucket=bucket_name, Key="up/a")["UploadId"]
    s3.upload_part(Bucket=bucket_name, Key="up/a", UploadId=stale, PartNumber=1, Body=b"x" * 10)
    other = s3.create_multipart_upload(Bucket=bucket_name, Key="keep/b")["UploadId"]
    _put_rules(
        s3,
        bucket_name,
        _rule(
            ID="mpu",
            Filter={"Prefix": "up/"},
            AbortIncompleteMultipartUpload={"DaysAfterInitiation": 2},
        ),
    )
    assert _run(s3_cluster, ahead=0).aborted == 0
    assert _run(s3_cluster, ahead=10).aborted == 1
    left = s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in left] == [("keep/b", other)]
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket_name, Key="up/a", UploadId=stale)
    assert _err(exc)[1] == "NoSuchUpload"


def test_pass_leaves_locked_versions(s3_cluster: S3Cluster, s3: Any, bucket_name: str) -> None:
    s3.create_bucket(Bucket=bucket_name, ObjectLockEnabledForBucket=True)
    until = datetime.now(UTC) + timedelta(days=1)
    locked = s3.put_object(
        Bucket=bucket_name,
        Key="k",
        Body=b"locked",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    held = s3.put_object(Bucket=bucket_name, Key="k", Body=b"held", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    free = s3.put_object(Bucket=bucket_name, Key="k", Body=b"free")["VersionId"]
    s3.put_object(Bucket=bucket_name, Key="k", Body=b"current")
    _put_rules(
        s3,
        bucket_name,
        _rule(ID="nc", NoncurrentVersionExpiration={"NoncurrentDays": 1}),
        _rule(ID="cur", Filter={"Prefix": "k"}, Expiration={"Days": 1}),
    )
    result = _run(s3_cluster, ahead=10)
    assert result.locked >= 2 and not result.errors
    vids = {v for _k, v, m in _versions(s3, bucket_name) if not m}
    assert locked in vids and held in vids and free not in vids
    assert s3.get_object(Bucket=bucket_name, Key="k", VersionId=locked)["Body"].read() == b"locked"
    s3.put_object_legal_hold(
        Bucket=bucket_name, Key="k", VersionId=held, LegalHold={"Status": "OFF"}
    )


def test_background_pass_of_the_s3_app(s3_cluster: S3Cluster, s3: Any, bucket_name: str) -> None:
    """The S3 app runs a pass every ``s3.lifecycle_interval`` seconds while it serves."""
    base = s3_cluster.config
    cfg = dataclasses.replace(
        base,
        s3=dataclasses.replace(base.s3, lifecycle_interval=0.2, lifecycle_debug_day_seconds=1),
    )
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="bg/a", Body=b"x")
    _put_rules(s3, bucket_name, _rule(ID="bg", Filter={"Prefix": "bg/"}, Expiration={"Days": 1}))

    async def start() -> web.AppRunner:
        runner = web.AppRunner(make_s3_app(s3_cluster.core, s3_cluster.identity, cfg))
        await runner.setup()  # starts the app's background tasks
        return runner

    runner = s3_cluster.run(start())
    try:
        deadline = time.monotonic() + 15
        while _keys(s3, bucket_name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _keys(s3, bucket_name) == []
    finally:
        s3_cluster.run(runner.cleanup())


def test_pass_tag_and_date_filters(s3_cluster: S3Cluster, s3: Any, bucket_name: str) -> None:
    """Tag filters, And (prefix + tags + size) and a past Date, applied by the pass."""
    s3.create_bucket(Bucket=bucket_name)
    _put_rules(
        s3,
        bucket_name,
        _rule(ID="tag", Filter={"Tag": {"Key": "temp", "Value": "yes"}}, Expiration={"Days": 5}),
        _rule(
            ID="and",
            Filter={
                "And": {
                    "Prefix": "logs/",
                    "Tags": [{"Key": "kind", "Value": "debug"}],
                    "ObjectSizeGreaterThan": 2,
                }
            },
            Expiration={"Days": 5},
        ),
        _rule(
            ID="date",
            Filter={"Prefix": "dated/"},
            Expiration={"Date": datetime(2020, 1, 1, tzinfo=UTC)},
        ),
    )
    puts = [
        ("t/tagged", b"x", "temp=yes"),
        ("t/other-value", b"x", "temp=no"),
        ("logs/big-debug", b"12345", "kind=debug"),
        ("logs/small-debug", b"1", "kind=debug"),
        ("logs/big-info", b"12345", "kind=info"),
        ("elsewhere/big-debug", b"12345", "kind=debug"),
        ("dated/a", b"x", ""),
    ]
    for key, body, tags in puts:
        s3.put_object(Bucket=bucket_name, Key=key, Body=body, Tagging=tags)
    early = _run(s3_cluster, ahead=0)
    assert early.expired == 1  # the Date is past already: days need not pass
    assert "dated/a" not in _keys(s3, bucket_name)
    done = _run(s3_cluster, ahead=10)
    assert done.expired == 2 and not done.errors
    assert sorted(_keys(s3, bucket_name)) == [
        "elsewhere/big-debug",
        "logs/big-info",
        "logs/small-debug",
        "t/other-value",
    ]
