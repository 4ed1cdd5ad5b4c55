"""``x-amz-expected-bucket-owner`` on every operation boto3 sends it with.

The operations are botocore's own list (every S3 operation whose input has
``ExpectedBucketOwner``), so a new operation Stratus supports is covered the
day it is routed. AWS: a bucket owned by another account answers 403
AccessDenied, whatever else is wrong with the request; the right owner
changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3compat.handlers import HANDLERS
from s3compat.router import all_operations
from tests.functional.s3compat.conftest import S3Cluster

# Members a request needs in its URL, filled with harmless values (the owner check
# comes before anything reads them).
_URL_MEMBERS: dict[str, Any] = {
    "Key": "k",
    "UploadId": "no-such-upload",
    "PartNumber": 1,
    "CopySource": "other-bucket/k",
    "Id": "id",
    "ConfigurationId": "id",
}


def _operations(client: Any) -> list[str]:
    model = client.meta.service_model
    names = []
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        if shape is not None and "ExpectedBucketOwner" in shape.members:
            names.append(name)
    return sorted(names)


def _params(client: Any, name: str, bucket: str, owner: str) -> dict[str, Any]:
    shape = client.meta.service_model.operation_model(name).input_shape
    params: dict[str, Any] = {"Bucket": bucket, "ExpectedBucketOwner": owner}
    for member in shape.required_members:
        if member in _URL_MEMBERS:
            params[member] = _URL_MEMBERS[member]
    return params


def _call(client: Any, name: str, params: dict[str, Any]) -> Any:
    method = client.meta.method_to_api_mapping
    python_name = next(k for k, v in method.items() if v == name)
    return getattr(client, python_name)(**params)


@pytest.fixture(scope="module")
def routed(s3_cluster: S3Cluster) -> list[str]:
    """The operations Stratus serves (others answer NotImplemented before any check)."""
    supported = {s.name for s in all_operations() if s.implemented and s.name in HANDLERS}
    client = s3_cluster.client("alice", parameter_validation=False)
    return [n for n in _operations(client) if n in supported]


def test_every_operation_refuses_another_owner(
    s3_cluster: S3Cluster, s3: Any, bucket: str, routed: list[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    owner = s3.list_buckets()["Owner"]["ID"]
    assert owner != "beta"
    client = s3_cluster.client("alice", parameter_validation=False)
    assert len(routed) > 40, routed
    wrong = []
    for name in routed:
        try:
            _call(client, name, _params(client, name, bucket, "beta"))
        except ClientError as exc:
            err = exc.response
            got = (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"].get("Code"))
            if got in ((403, "AccessDenied"), (403, "403")):  # HEAD answers have no body
                continue
            wrong.append((name, got))
            continue
        wrong.append((name, "answered"))
    assert wrong == []
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"  # nothing changed


def test_the_right_owner_changes_nothing(s3: Any, bucket: str) -> None:
    owner = s3.list_buckets()["Owner"]["ID"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", ExpectedBucketOwner=owner)
    assert s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=owner)["Body"].read() == b"v"
    s3.put_object_tagging(
        Bucket=bucket,
        Key="k",
        Tagging={"TagSet": [{"Key": "a", "Value": "b"}]},
        ExpectedBucketOwner=owner,
    )
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]}, ExpectedBucketOwner=owner)
    assert s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=owner)["KeyCount"] == 0
