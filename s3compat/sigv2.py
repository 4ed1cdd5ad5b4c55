"""AWS Signature Version 2 (header ``AWS AKID:sig`` and query auth) for older clients."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from s3compat.errors import S3Error
from s3compat.sigv4 import (
    MAX_PRESIGN_EXPIRES,
    MAX_SKEW,
    SecretLookup,
    SignedRequest,
    post_signature_mismatch,
)
from stratus.digits import ascii_uint

# Sub-resources and overrides that belong to the canonicalized resource.
SUBRESOURCES = frozenset(
    {
        "acl",
        "cors",
        "delete",
        "lifecycle",
        "location",
        "logging",
        "notification",
        "partNumber",
        "policy",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        "attributes",
    }
)


@dataclass(frozen=True)
class SigV2Auth:
    access_key: str
    presigned: bool


def canonical_resource(req: SignedRequest, bucket_from_host: str | None) -> str:
    path = req.raw_path or "/"
    if bucket_from_host:
        path = f"/{bucket_from_host}{path}"
    subs = sorted((k, v) for k, v in req.query if k in SUBRESOURCES)
    if subs:
        path += "?" + "&".join(f"{k}={unquote(v)}" if v else k for k, v in subs)
    return path


def string_to_sign(req: SignedRequest, date_or_expires: str, bucket_from_host: str | None) -> str:
    headers = req.header_map()
    amz = sorted((k, v) for k, v in headers.items() if k.startswith("x-amz-"))
    lines = [
        req.method,
        headers.get("content-md5", ""),
        headers.get("content-type", ""),
        date_or_expires,
    ]
    lines += [f"{k}:{v}" for k, v in amz]
    lines.append(canonical_resource(req, bucket_from_host))
    return "\n".join(lines)


def _signature(secret: str, sts: str) -> str:
    raw = sts.encode("utf-8", "surrogateescape")  # header bytes that were not UTF-8, as received
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha1).digest()).decode()


def _variants(req: SignedRequest, bucket_from_host: str | None) -> list[SignedRequest]:
    """The request as signed: a bucket-level path may be signed with a trailing slash.

    AWS's canonical resource of a bucket is ``/bucket/``; botocore's V2 signer
    signs it so even for a path-style ``/bucket`` request.
    """
    out = [req]
    path = req.raw_path
    if not bucket_from_host and path.count("/") == 1 and len(path) > 1:
        out.append(SignedRequest(req.method, path + "/", req.query, req.headers))
    return out


def _check(
    secret: str, req: SignedRequest, date: str, bucket_from_host: str | None, given: str
) -> tuple[bool, str]:
    sts = ""
    for candidate in _variants(req, bucket_from_host):
        sts = string_to_sign(candidate, date, bucket_from_host)
        if hmac.compare_digest(_signature(secret, sts).encode(), given.encode(errors="replace")):
            return True, sts
    return False, string_to_sign(req, date, bucket_from_host)


def _secret(access: str, secrets: SecretLookup) -> str:
    secret = secrets(access)
    if secret is None:
        raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": access})
    return secret


def _mismatch(access: str, sts: str) -> S3Error:
    return S3Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
        extra={"AWSAccessKeyId": access, "StringToSign": sts},
    )


def verify_header_auth(
    req: SignedRequest,
    secrets: SecretLookup,
    *,
    now: datetime,
    bucket_from_host: str | None = None,
) -> SigV2Auth:
    headers = req.header_map()
    value = headers["authorization"]
    if not value.startswith("AWS ") or ":" not in value:
        raise S3Error("AccessDenied", "Malformed AWS Signature Version 2 authorization")
    access, _, given = value[4:].rpartition(":")
    raw_date = headers.get("x-amz-date") or headers.get("date")
    if not raw_date:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date")
    try:
        when = parsedate_to_datetime(raw_date)
    except (TypeError, ValueError):
        raise S3Error("AccessDenied", f"Invalid date {raw_date!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if abs(now - when) > MAX_SKEW:
        raise S3Error("RequestTimeTooSkewed", extra={"RequestTime": raw_date})
    # With x-amz-date, it is signed among the x-amz headers and the Date line is empty.
    date_line = "" if "x-amz-date" in headers else headers.get("date", "")
    ok, sts = _check(_secret(access, secrets), req, date_line, bucket_from_host, given)
    if not ok:
        raise _mismatch(access, sts)
    return SigV2Auth(access, False)


def verify_query_auth(
    req: SignedRequest,
    secrets: SecretLookup,
    *,
    now: datetime,
    bucket_from_host: str | None = None,
) -> SigV2Auth:
    params = dict(req.query)
    try:
        access = params["AWSAccessKeyId"]
        expires = params["Expires"]
        given = params["Signature"]
    except KeyError as exc:
        raise S3Error(
            "AccessDenied", f"Query-string authentication requires {exc.args[0]}"
        ) from None
    if ascii_uint(expires) is None:
        raise S3Error("AccessDenied", "Expires must be a number of seconds since the epoch")
    if now.timestamp() > int(expires):
        raise S3Error("AccessDenied", "Request has expired")
    # As SigV4's X-Amz-Expires: a URL lives a week at most (with the usual clock
    # allowance), so a leaked one cannot be used for ever.
    if int(expires) - now.timestamp() > MAX_PRESIGN_EXPIRES + MAX_SKEW.total_seconds():
        raise S3Error(
            "AuthorizationQueryParametersError",
            f"Expires must be less than a week ({MAX_PRESIGN_EXPIRES} seconds) from now",
        )
    unsigned = SignedRequest(
        req.method,
        req.raw_path,
        [(k, v) for k, v in req.query if k not in ("AWSAccessKeyId", "Expires", "Signature")],
        req.headers,
    )
    ok, sts = _check(_secret(access, secrets), unsigned, expires, bucket_from_host, given)
    if not ok:
        raise _mismatch(access, sts)
    return SigV2Auth(access, True)


def verify_post_policy(policy: str, access: str, given: str, secrets: SecretLookup) -> None:
    """A browser form's SigV2 signature: the base64 HMAC-SHA1 of the base64 policy, as sent."""
    expected = _signature(_secret(access, secrets), policy)
    if not hmac.compare_digest(expected.encode(), given.encode(errors="replace")):
        raise post_signature_mismatch(access, policy, given)
