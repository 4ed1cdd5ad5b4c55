"""Bucket policies at AWS's limits (issue 16): up to 20 KB (counted without whitespace)
stored across several metadata values and returned byte for byte; larger ones and
documents with elements AWS does not know refused with MalformedPolicy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3compat import policy
from tests.functional.s3compat.conftest import S3Cluster


def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def _statement(bucket: str, n: int, principal: str = "beta") -> dict[str, Any]:
    return {
        "Sid": f"s{n:05d}",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{principal}:root"]},
        "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{bucket}/p{n:05d}/*"],
    }


def _policy(bucket: str, compact_bytes: int) -> str:
    """An indented document whose whitespace-free form is just under ``compact_bytes``."""
    statements: list[dict[str, Any]] = []
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": statements}
    while True:
        statements.append(_statement(bucket, len(statements)))
        if len(json.dumps(doc, separators=(",", ":"))) > compact_bytes:
            statements.pop()
            return json.dumps(doc, indent=4)


def _system(cluster: S3Cluster, bucket: str) -> dict[str, str]:
    return dict(cluster.run(cluster.core.head_container("AUTH_alpha", bucket)).system)


def test_a_20_kb_policy_is_kept_whole_and_enforced(s3_cluster: S3Cluster, bucket: str) -> None:
    ada, bob = s3_cluster.client("ada"), s3_cluster.client("bob")
    big = _policy(bucket, policy.MAX_POLICY)
    assert len(big.encode()) > 2 * policy.MAX_POLICY  # whitespace does not count, as AWS
    last = len(json.loads(big)["Statement"]) - 1
    s3_cluster.client("alice").put_object(Bucket=bucket, Key=f"p{last:05d}/k", Body=b"late")
    ada.put_bucket_policy(Bucket=bucket, Policy=big)
    assert ada.get_bucket_policy(Bucket=bucket)["Policy"] == big
    # The last statement lives in the last stored part: it is judged like the first.
    got = bob.get_object(Bucket=bucket, Key=f"p{last:05d}/k")["Body"].read()
    assert got == b"late"
    parts = [k for k in _system(s3_cluster, bucket) if k.startswith(policy.POLICY_KEY + ".")]
    assert len(parts) > 5
    # A small policy replaces it and the parts go; deleting leaves nothing behind.
    small = json.dumps({"Statement": [_statement(bucket, 0)]})
    ada.put_bucket_policy(Bucket=bucket, Policy=small)
    assert ada.get_bucket_policy(Bucket=bucket)["Policy"] == small
    assert _error(lambda: bob.get_object(Bucket=bucket, Key=f"p{last:05d}/k"))[0] == "AccessDenied"
    left = {k: v for k, v in _system(s3_cluster, bucket).items() if k.startswith("s3-policy.")}
    assert not any(left.values())
    ada.put_bucket_policy(Bucket=bucket, Policy=big)
    ada.delete_bucket_policy(Bucket=bucket)
    assert _error(lambda: ada.get_bucket_policy(Bucket=bucket))[0] == "NoSuchBucketPolicy"
    left = {k: v for k, v in _system(s3_cluster, bucket).items() if k.startswith("s3-policy")}
    assert not any(left.values())


def test_a_policy_over_20_kb_is_refused(s3_cluster: S3Cluster, bucket: str) -> None:
    ada = s3_cluster.client("ada")
    fits = _policy(bucket, policy.MAX_POLICY)
    doc = json.loads(fits)
    doc["Statement"].append(_statement(bucket, 99999))
    too_big = json.dumps(doc, separators=(",", ":"))
    assert _error(lambda: ada.put_bucket_policy(Bucket=bucket, Policy=too_big)) == (
        "MalformedPolicy",
        "Policy exceeds the maximum allowed document size.",
    )
    assert _error(lambda: ada.get_bucket_policy(Bucket=bucket))[0] == "NoSuchBucketPolicy"


@pytest.mark.parametrize(
    "change,field",
    [
        (lambda d: d.update(Comment="x"), "Comment"),
        (lambda d: d.update(version=d.pop("Version")), "version"),
        (lambda d: d["Statement"][0].update(Actions=["s3:GetObject"]), "Actions"),
        (lambda d: d["Statement"][0].update(effect="Deny"), "effect"),
        (lambda d: d["Statement"][0].update(Conditions={}), "Conditions"),
    ],
)
def test_unknown_elements_are_refused(
    s3_cluster: S3Cluster, bucket: str, change: Any, field: str
) -> None:
    ada = s3_cluster.client("ada")
    doc: dict[str, Any] = {"Version": "2012-10-17", "Id": "i", "Statement": [_statement(bucket, 0)]}
    ada.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))  # every known element
    change(doc)
    assert _error(lambda: ada.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))) == (
        "MalformedPolicy",
        f"Unknown field {field}",
    )
