"""Role ``acl-only`` through S3 (boto3): exactly what bucket ACLs and policies grant.

Carol (``alpha:carol``, role ``acl-only``) holds no rights of her own in her
own project ``alpha``: she sees a bucket only once its ACL or policy names
her, gets only the right named (read or write), and never manages access.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.functional.s3compat.conftest import S3Cluster


def _denied(call: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_an_acl_only_user_gets_exactly_the_acl_grant(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    ada, carol = s3_cluster.client("ada"), s3_cluster.client("carol")
    s3.put_object(Bucket=bucket, Key="doc", Body=b"d")
    _denied(lambda: carol.list_objects_v2(Bucket=bucket))
    with pytest.raises(ClientError) as exc:
        carol.head_bucket(Bucket=bucket)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    _denied(lambda: carol.get_object(Bucket=bucket, Key="doc"))
    # a read grant to her user: listing and reading, nothing more
    ada.put_bucket_acl(Bucket=bucket, GrantRead='id="alpha:carol"')
    assert [o["Key"] for o in carol.list_objects_v2(Bucket=bucket)["Contents"]] == ["doc"]
    _denied(lambda: carol.put_object(Bucket=bucket, Key="x", Body=b"x"))
    _denied(lambda: carol.delete_object(Bucket=bucket, Key="doc"))
    # a write grant to her user: uploads and deletes, still no object reads
    ada.put_bucket_acl(Bucket=bucket, GrantWrite='id="alpha:carol"')
    carol.put_object(Bucket=bucket, Key="drop", Body=b"x")
    _denied(lambda: carol.list_objects_v2(Bucket=bucket))
    _denied(lambda: carol.get_object(Bucket=bucket, Key="doc"))
    assert s3.get_object(Bucket=bucket, Key="drop")["Body"].read() == b"x"
    # never the owner's operations, whatever she was granted
    ada.put_bucket_acl(Bucket=bucket, GrantFullControl='id="alpha:carol"')
    assert carol.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"d"
    _denied(lambda: carol.put_bucket_acl(Bucket=bucket, ACL="public-read"))
    _denied(lambda: carol.put_object(Bucket=bucket, Key="p", Body=b"p", ACL="public-read"))
    _denied(lambda: carol.delete_bucket_policy(Bucket=bucket))
    _denied(lambda: carol.create_bucket(Bucket=bucket + "-carol"))
    _denied(carol.list_buckets)
    ada.put_bucket_acl(Bucket=bucket, ACL="private")
    _denied(lambda: carol.get_object(Bucket=bucket, Key="doc"))


def test_an_acl_only_user_gets_exactly_the_policy_grant(
    s3_cluster: S3Cluster, s3: Any, bucket: str
) -> None:
    ada, carol = s3_cluster.client("ada"), s3_cluster.client("carol")
    s3.put_object(Bucket=bucket, Key="doc", Body=b"d")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::alpha:user/carol"},
                "Action": ["s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    ada.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    carol.put_object(Bucket=bucket, Key="in", Body=b"i")
    keys = [o["Key"] for o in carol.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["doc", "in"]
    _denied(lambda: carol.get_object(Bucket=bucket, Key="doc"))  # not in the policy
    _denied(lambda: carol.delete_object(Bucket=bucket, Key="doc"))
    _denied(lambda: carol.get_bucket_policy(Bucket=bucket))
    ada.delete_bucket_policy(Bucket=bucket)
    _denied(lambda: carol.put_object(Bucket=bucket, Key="in2", Body=b"i"))
