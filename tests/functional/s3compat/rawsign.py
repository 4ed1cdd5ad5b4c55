"""A small, independent SigV4 signer for requests boto3 will not make.

Written from the AWS documentation (canonical request, string to sign,
signing key, aws-chunked chunk and trailer signatures), so the server's
own code is not used to sign what it verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

EMPTY = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


@dataclass
class Signed:
    headers: dict[str, str]
    signature: str
    key: bytes
    scope: str
    amz_date: str


def sign(
    method: str,
    host: str,
    path: str,
    access: str,
    secret: str,
    *,
    headers: dict[str, str] | None = None,
    payload_hash: str = EMPTY,
    query: list[tuple[str, str]] | None = None,
    when: datetime | None = None,
    region: str = "us-east-1",
) -> Signed:
    when = when or datetime.now(UTC)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    h = {k.lower(): v for k, v in (headers or {}).items()}
    h.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    names = sorted(h)
    cquery = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query or [])
    )
    creq = "\n".join(
        [
            method,
            quote(path, safe="/-_.~"),
            cquery,
            "".join(f"{n}:{h[n].strip()}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    sts = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature}"
    )
    return Signed(h, signature, key, scope, amz_date)


def chunked_body(
    signed: Signed, data: bytes, chunk: int, trailer: tuple[str, str] | None = None
) -> bytes:
    """aws-chunked encoding with chained chunk signatures (and a signed trailer)."""
    out = b""
    previous = signed.signature
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                signed.amz_date,
                signed.scope,
                previous,
                EMPTY,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        previous = hmac.new(signed.key, sts.encode(), hashlib.sha256).hexdigest()
        out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
        out += b"\r\n" if piece else b""
    if trailer is not None:
        line = f"{trailer[0]}:{trailer[1]}\n"
        sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                signed.amz_date,
                signed.scope,
                previous,
                hashlib.sha256(line.encode()).hexdigest(),
            ]
        )
        sig = hmac.new(signed.key, sts.encode(), hashlib.sha256).hexdigest()
        out += f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{sig}\r\n".encode()
    out += b"\r\n"
    return out


def send(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, quote(path, safe="/-_.~"), body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()
