"""S3 presigned GET URLs (AWS Signature V4, query form) for share links.

A presigned URL is signed with an S3 secret and lets anyone holding it GET
one object until it expires (at most a week, as in AWS). Signing needs no
request to the S3 API; the S3 API checks the signature when the link is used,
and refuses it once the credential that signed it is deleted.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote

MAX_EXPIRES = 7 * 86400


def _q(text: str, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def presign_get(
    endpoint: str,
    bucket: str,
    key: str,
    *,
    access: str,
    secret: str,
    region: str,
    expires: int,
    now: datetime | None = None,
) -> str:
    """A path-style presigned GET URL of ``bucket/key`` on ``endpoint`` (``http://host:port``)."""
    if not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"expires must be between 1 and {MAX_EXPIRES} seconds")
    now = now or datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    scope = f"{day}/{region}/s3/aws4_request"
    host = endpoint.split("://", 1)[1].rstrip("/")
    path = "/" + _q(bucket) + "/" + _q(key, safe="-_.~/")
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    query = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(params.items()))
    canonical = f"GET\n{path}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key_ = _hmac(("AWS4" + secret).encode(), day)
    for part in (region, "s3", "aws4_request"):
        key_ = _hmac(key_, part)
    signature = hmac.new(key_, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{endpoint.rstrip('/')}{path}?{query}&X-Amz-Signature={signature}"
