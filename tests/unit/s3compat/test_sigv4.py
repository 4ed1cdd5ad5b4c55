"""SigV4 verification against AWS's published example and botocore's own signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3compat import sigv4
from s3compat.errors import S3Error

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def secrets(access: str) -> str | None:
    return SK if access == AK else None


def _from_botocore(req: AWSRequest) -> sigv4.SignedRequest:
    url = urlsplit(req.url)
    return sigv4.SignedRequest(
        method=req.method,
        raw_path=url.path,
        query=parse_qsl(url.query, keep_blank_values=True),
        # botocore signs the Host it will send, but leaves adding it to the HTTP layer.
        headers=[("Host", url.netloc), *req.headers.items()],
    )


def test_aws_documented_get_object_example() -> None:
    """The GET /test.txt example of the S3 SigV4 documentation."""
    req = sigv4.SignedRequest(
        method="GET",
        raw_path="/test.txt",
        query=[],
        headers=[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", sigv4.EMPTY_SHA256),
            ("x-amz-date", "20130524T000000Z"),
            (
                "Authorization",
                f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,"
                "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            ),
        ],
    )
    now = datetime(2013, 5, 24, 0, 1, tzinfo=UTC)
    auth = sigv4.verify_header_auth(req, secrets, region="us-east-1", now=now)
    assert auth.access_key == AK
    assert str(auth.scope) == "20130524/us-east-1/s3/aws4_request"


def _signed(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> AWSRequest:
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    return req


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/bucket",
        "http://127.0.0.1:9000/bucket/a%20key/with%2Bplus%E2%82%AC?tagging",
        "http://127.0.0.1:9000/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=10",
        "http://bucket.s3.example.com:9000/k?uploads",
    ],
)
def test_botocore_header_signatures_verify(url: str) -> None:
    req = _signed("PUT", url, b"hello", {"x-amz-meta-Colour": "  blue   green "})
    auth = sigv4.verify_header_auth(
        _from_botocore(req), secrets, region="us-east-1", now=datetime.now(UTC)
    )
    assert auth.payload_hash == req.headers["X-Amz-Content-SHA256"]
    assert not auth.presigned


def test_tampering_is_detected() -> None:
    req = _signed("PUT", "http://127.0.0.1:9000/bucket/key", b"x")
    signed = _from_botocore(req)
    for changed in (
        sigv4.SignedRequest("DELETE", signed.raw_path, signed.query, signed.headers),
        sigv4.SignedRequest(signed.method, "/bucket/other", signed.query, signed.headers),
        sigv4.SignedRequest(signed.method, signed.raw_path, [("acl", "")], signed.headers),
    ):
        with pytest.raises(S3Error) as exc:
            sigv4.verify_header_auth(changed, secrets, region="us-east-1", now=datetime.now(UTC))
        assert exc.value.code == "SignatureDoesNotMatch"
        assert exc.value.status == 403


def test_wrong_secret_unknown_key_skew_and_region() -> None:
    signed = _from_botocore(_signed("GET", "http://127.0.0.1:9000/b"))
    now = datetime.now(UTC)
    with pytest.raises(S3Error, match="does not match"):
        sigv4.verify_header_auth(signed, lambda a: "wrong", region="us-east-1", now=now)
    with pytest.raises(S3Error) as exc:
        sigv4.verify_header_auth(signed, lambda a: None, region="us-east-1", now=now)
    assert exc.value.code == "InvalidAccessKeyId"
    with pytest.raises(S3Error) as exc:
        sigv4.verify_header_auth(
            signed, secrets, region="us-east-1", now=now + timedelta(minutes=16)
        )
    assert exc.value.code == "RequestTimeTooSkewed"
    with pytest.raises(S3Error) as exc:
        sigv4.verify_header_auth(signed, secrets, region="eu-west-1", now=now)
    assert exc.value.code == "AuthorizationHeaderMalformed"
    assert exc.value.extra["Region"] == "eu-west-1"


@pytest.mark.parametrize(
    "value",
    [
        "AWS4-HMAC-SHA1 Credential=a/20130524/us-east-1/s3/aws4_request",
        "AWS4-HMAC-SHA256 Credential=a/2013/us-east-1/s3/aws4_request,SignedHeaders=host,"
        "Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/20130524/us-east-1/s3/aws4_request,Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=x-amz-date;host,Signature=00",
        "AWS4-HMAC-SHA256 garbage",
    ],
)
def test_malformed_authorization(value: str) -> None:
    with pytest.raises(S3Error) as exc:
        sigv4.parse_authorization(value)
    assert exc.value.code == "AuthorizationHeaderMalformed"


def _presigned(url: str, expires: int = 60) -> AWSRequest:
    req = AWSRequest(method="GET", url=url)
    S3SigV4QueryAuth(Credentials(AK, SK), "s3", "us-east-1", expires=expires).add_auth(req)
    return req


def test_presigned_url_verifies_and_expires() -> None:
    req = _presigned("http://127.0.0.1:9000/bucket/some%20key?versionId=3")
    signed = _from_botocore(req)
    now = datetime.now(UTC)
    auth = sigv4.verify_query_auth(signed, secrets, region="us-east-1", now=now)
    assert auth.presigned and auth.payload_hash == sigv4.UNSIGNED_PAYLOAD
    with pytest.raises(S3Error, match="expired") as exc:
        sigv4.verify_query_auth(
            signed, secrets, region="us-east-1", now=now + timedelta(seconds=120)
        )
    assert exc.value.code == "AccessDenied"


def test_presigned_signature_tampering() -> None:
    signed = _from_botocore(_presigned("http://127.0.0.1:9000/bucket/k"))
    other = sigv4.SignedRequest("GET", "/bucket/k2", signed.query, signed.headers)
    with pytest.raises(S3Error) as exc:
        sigv4.verify_query_auth(other, secrets, region="us-east-1", now=datetime.now(UTC))
    assert exc.value.code == "SignatureDoesNotMatch"
    longer = [(k, "999999" if k == "X-Amz-Expires" else v) for k, v in signed.query]
    with pytest.raises(S3Error) as exc:
        sigv4.verify_query_auth(
            sigv4.SignedRequest("GET", "/bucket/k", longer, signed.headers),
            secrets,
            region="us-east-1",
            now=datetime.now(UTC),
        )
    assert exc.value.code == "AuthorizationQueryParametersError"


def test_presigned_url_may_sign_its_payload_hash_in_a_header() -> None:
    req = AWSRequest(
        method="GET",
        url="http://127.0.0.1:9000/bucket/k",
        headers={"x-amz-content-sha256": sigv4.EMPTY_SHA256},
    )
    S3SigV4QueryAuth(Credentials(AK, SK), "s3", "us-east-1", expires=60).add_auth(req)
    signed = _from_botocore(req)
    assert "x-amz-content-sha256" in dict(signed.query)["X-Amz-SignedHeaders"]
    auth = sigv4.verify_query_auth(signed, secrets, region="us-east-1", now=datetime.now(UTC))
    assert auth.presigned and auth.payload_hash == sigv4.EMPTY_SHA256


def test_an_invalid_payload_hash_names_the_header() -> None:
    with pytest.raises(S3Error) as exc:
        sigv4.check_payload_hash("not-a-digest")
    assert exc.value.code == "InvalidArgument"
    assert exc.value.extra == {
        "ArgumentName": "x-amz-content-sha256",
        "ArgumentValue": "not-a-digest",
    }
    sigv4.check_payload_hash(sigv4.EMPTY_SHA256.upper())  # either case, as AWS takes it


def test_every_amz_header_must_be_signed() -> None:
    from s3compat.sigv4 import check_amz_headers_signed

    signed = ["host", "x-amz-date"]
    check_amz_headers_signed({"host": "h", "x-amz-date": "d", "user-agent": "u"}, signed)
    # The payload hash is exempt: its value is itself part of the canonical request.
    check_amz_headers_signed({"host": "h", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, signed)
    # x-amzn-trace-id is not an x-amz- header (SDKs leave it unsigned).
    check_amz_headers_signed({"host": "h", "x-amzn-trace-id": "Root=1"}, signed)
    with pytest.raises(S3Error) as exc:
        check_amz_headers_signed(
            {"host": "h", "x-amz-copy-source": "/b/k", "x-amz-acl": "public-read"}, signed
        )
    assert exc.value.code == "AccessDenied"
    assert exc.value.extra == {"HeadersNotSigned": "x-amz-acl, x-amz-copy-source"}
