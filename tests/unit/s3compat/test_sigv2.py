"""SigV2 verification against botocore's own HmacV1 signers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3compat import sigv2
from s3compat.errors import S3Error
from s3compat.sigv4 import SignedRequest

AK, SK = "AKIDV2EXAMPLE", "secret-v2"


def secrets(access: str) -> str | None:
    return SK if access == AK else None


def _wire(req: AWSRequest) -> SignedRequest:
    url = urlsplit(req.url)
    return SignedRequest(
        req.method,
        url.path,
        parse_qsl(url.query, keep_blank_values=True),
        list(req.headers.items()),
    )


@pytest.mark.parametrize(
    "url,headers",
    [
        ("http://127.0.0.1:9000/bucket/key", {"Content-Type": "text/plain"}),
        ("http://127.0.0.1:9000/bucket?acl", {}),
        ("http://127.0.0.1:9000/bucket/k?versionId=7&foo=bar", {"x-amz-meta-a": "1"}),
    ],
)
def test_botocore_header_auth_verifies(url: str, headers: dict) -> None:
    req = AWSRequest(method="PUT", url=url, data=b"x", headers=headers)
    HmacV1Auth(Credentials(AK, SK)).add_auth(req)
    auth = sigv2.verify_header_auth(_wire(req), secrets, now=datetime.now(UTC))
    assert auth.access_key == AK
    tampered = dataclasses.replace(_wire(req), method="DELETE")
    with pytest.raises(S3Error) as exc:
        sigv2.verify_header_auth(tampered, secrets, now=datetime.now(UTC))
    assert exc.value.code == "SignatureDoesNotMatch"


def test_skew_and_unknown_key() -> None:
    req = AWSRequest(method="GET", url="http://127.0.0.1:9000/b")
    HmacV1Auth(Credentials(AK, SK)).add_auth(req)
    with pytest.raises(S3Error) as exc:
        sigv2.verify_header_auth(_wire(req), secrets, now=datetime.now(UTC) + timedelta(hours=1))
    assert exc.value.code == "RequestTimeTooSkewed"
    with pytest.raises(S3Error) as exc:
        sigv2.verify_header_auth(_wire(req), lambda a: None, now=datetime.now(UTC))
    assert exc.value.code == "InvalidAccessKeyId"


def test_botocore_query_auth_verifies_and_expires() -> None:
    req = AWSRequest(method="GET", url="http://127.0.0.1:9000/bucket/some%20key")
    HmacV1QueryAuth(Credentials(AK, SK), expires=60).add_auth(req)
    wire = _wire(req)
    assert sigv2.verify_query_auth(wire, secrets, now=datetime.now(UTC)).presigned
    with pytest.raises(S3Error, match="expired"):
        sigv2.verify_query_auth(wire, secrets, now=datetime.now(UTC) + timedelta(seconds=61))
