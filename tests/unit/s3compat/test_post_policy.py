"""POST policies: AWS's signed example, parsing, and matching a form against conditions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from s3compat import post_policy, sigv2, sigv4
from s3compat.errors import S3Error

ACCESS, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# AWS's "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)".
AWS_POLICY = (
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7"
    "ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91"
    "c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3Qi"
    "OiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwi"
    "fSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRh"
    "LXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVT"
    "MjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNy"
    "ZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9"
    "LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAi"
    "MjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)
AWS_SIGNATURE = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
CREDENTIAL = f"{ACCESS}/20151229/us-east-1/s3/aws4_request"
WHEN = datetime(2015, 12, 29, 10, 0, tzinfo=UTC)


def _secrets(access: str) -> str | None:
    return SECRET if access == ACCESS else None


def _verify(signature: str, policy: str = AWS_POLICY, **kw: Any) -> str:
    args: dict[str, Any] = {"region": "us-east-1", "now": WHEN} | kw
    return sigv4.verify_post_policy(
        policy, CREDENTIAL, "20151229T000000Z", signature, _secrets, **args
    )


def test_aws_sigv4_example_verifies() -> None:
    assert _verify(AWS_SIGNATURE) == ACCESS
    assert _verify(AWS_SIGNATURE.upper()) == ACCESS


def test_a_changed_policy_or_signature_does_not() -> None:
    with pytest.raises(S3Error) as exc:
        _verify(AWS_SIGNATURE, policy=AWS_POLICY[:-4])
    assert exc.value.code == "SignatureDoesNotMatch"
    assert exc.value.extra["StringToSign"] == AWS_POLICY[:-4]
    with pytest.raises(S3Error) as exc:
        _verify("0" * 64)
    assert exc.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as exc:
        _verify(AWS_SIGNATURE, region="eu-west-1")
    assert (exc.value.code, exc.value.extra["ArgumentName"]) == (
        "InvalidArgument",
        "X-Amz-Credential",
    )
    with pytest.raises(S3Error) as exc:
        _verify(AWS_SIGNATURE, now=datetime(2016, 1, 6, tzinfo=UTC))  # the key is 8 days old
    assert exc.value.message == "Invalid according to Policy: Policy expired."


def test_sigv2_policy_signature() -> None:
    # The base64 HMAC-SHA1 of the policy's base64 text.
    good = base64.b64encode(hmac.new(SECRET.encode(), b"e30=", hashlib.sha1).digest()).decode()
    sigv2.verify_post_policy("e30=", ACCESS, good, _secrets)
    with pytest.raises(S3Error) as exc:
        sigv2.verify_post_policy("e30=", ACCESS, good[::-1], _secrets)
    assert exc.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as exc:
        sigv2.verify_post_policy("e30=", "nobody", good, _secrets)
    assert exc.value.code == "InvalidAccessKeyId"


def test_aws_example_policy_parses_and_matches_its_form() -> None:
    policy = post_policy.parse(AWS_POLICY)
    assert policy.expiration == datetime(2015, 12, 30, 12, tzinfo=UTC)
    fields = {
        "bucket": "sigv4examplebucket",
        "key": "user/user1/photo.jpg",
        "acl": "public-read",
        "success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/"
        "successful_upload.html",
        "content-type": "image/jpeg",
        "x-amz-meta-uuid": "14365123651274",
        "x-amz-server-side-encryption": "AES256",
        "x-amz-credential": CREDENTIAL,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-date": "20151229T000000Z",
        "x-amz-meta-tag": "",
    }
    sent = ["key", "acl", "Content-Type", "x-amz-meta-uuid", "X-Amz-Credential", "Policy"]
    exempt = {"x-amz-signature", "file", "policy"}
    assert post_policy.check(policy, fields, sent, exempt, now=WHEN) == post_policy.SizeRange()
    with pytest.raises(S3Error) as exc:
        post_policy.check(policy, fields | {"key": "other"}, sent, exempt, now=WHEN)
    assert exc.value.message == (
        "Invalid according to Policy: Policy Condition failed: "
        '["starts-with", "$key", "user/user1/"]'
    )
    with pytest.raises(S3Error) as exc:
        post_policy.check(policy, fields, [*sent, "x-amz-meta-other"], exempt, now=WHEN)
    assert exc.value.message == "Invalid according to Policy: Extra input fields: x-amz-meta-other"
    late = datetime(2015, 12, 30, 12, 0, 1, tzinfo=UTC)
    with pytest.raises(S3Error) as exc:
        post_policy.check(policy, fields, sent, exempt, now=late)
    assert exc.value.message == "Invalid according to Policy: Policy expired."


def _doc(conditions: list[Any]) -> str:
    doc = {"expiration": "2099-01-01T00:00:00Z", "conditions": conditions}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def test_size_ranges_narrow_each_other() -> None:
    policy = post_policy.parse(
        _doc([["content-length-range", 5, 100], ["content-length-range", "0", "10"]])
    )
    assert post_policy.check(policy, {}, [], (), now=WHEN) == post_policy.SizeRange(5, 10)


@pytest.mark.parametrize(
    "raw",
    ["!!!", base64.b64encode(b"[1]").decode(), base64.b64encode(b"\xff").decode()],
)
def test_unreadable_policies(raw: str) -> None:
    with pytest.raises(S3Error) as exc:
        post_policy.parse(raw)
    assert exc.value.code == "InvalidPolicyDocument"
    assert exc.value.status == 400


def test_condition_on_a_missing_field_fails_even_when_empty() -> None:
    policy = post_policy.parse(_doc([["starts-with", "$x-amz-meta-a", ""]]))
    with pytest.raises(S3Error):
        post_policy.check(policy, {}, [], (), now=WHEN)
    assert post_policy.check(policy, {"x-amz-meta-a": ""}, [], (), now=WHEN)
