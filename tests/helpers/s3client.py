"""A boto3 S3 client for a Stratus S3 endpoint, as the tests make them."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig


def s3_client(endpoint: str, access: str, secret: str, **config: Any) -> Any:
    """A boto3 client in us-east-1 with no retries, so a test sees each answer."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}, **config),
    )
