"""AWS Signature V4 for the console's S3 calls: presigned GET links and signed requests.

A share link is a presigned GET: signed with the user's S3 secret, it lets
anyone holding it GET one object until it expires (at most a week, as in
AWS), and the S3 API refuses it once the credential that signed it is
deleted. The few S3-only features the console shows (versions, tags) are
requests signed the same way, with the same credential, so the S3 API
decides what the user may do.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

MAX_EXPIRES = 7 * 86400
UNSIGNED = "UNSIGNED-PAYLOAD"


def _q(text: str, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def s3_path(bucket: str, key: str = "") -> str:
    """The path-style request path, encoded as SigV4's canonical URI wants it."""
    return "/" + _q(bucket) + ("/" + _q(key, safe="-_.~/") if key else "")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(params.items()))


def _signature(
    secret: str,
    region: str,
    amz_date: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload: str,
) -> tuple[str, str]:
    """(signed header names, signature) of one canonical request."""
    names = sorted(k.lower() for k in headers)
    lowered = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    canon_headers = "".join(f"{n}:{lowered[n]}\n" for n in names)
    signed = ";".join(names)
    canonical = f"{method}\n{path}\n{query}\n{canon_headers}\n{signed}\n{payload}"
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    return signed, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


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
    amz_date = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    host = endpoint.split("://", 1)[1].rstrip("/")
    path = s3_path(bucket, key)
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access}/{amz_date[:8]}/{region}/s3/aws4_request",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    query = canonical_query(params)
    _, signature = _signature(
        secret, region, amz_date, "GET", path, query, {"host": host}, UNSIGNED
    )
    return f"{endpoint.rstrip('/')}{path}?{query}&X-Amz-Signature={signature}"


def sign_request(
    method: str,
    endpoint: str,
    path: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    access: str,
    secret: str,
    region: str,
    unsigned_payload: bool = False,
    now: datetime | None = None,
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, X-Amz-Content-Sha256 and Authorization (all signed).

    ``unsigned_payload``: the body streams and is not hashed (``UNSIGNED-PAYLOAD``).
    """
    amz_date = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    out = dict(headers)
    out["Host"] = endpoint.split("://", 1)[1].rstrip("/")
    out["X-Amz-Date"] = amz_date
    out["X-Amz-Content-Sha256"] = UNSIGNED if unsigned_payload else hashlib.sha256(body).hexdigest()
    signed, signature = _signature(
        secret,
        region,
        amz_date,
        method,
        path,
        canonical_query(params),
        out,
        out["X-Amz-Content-Sha256"],
    )
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access}/{amz_date[:8]}/{region}/s3/aws4_request, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return out
