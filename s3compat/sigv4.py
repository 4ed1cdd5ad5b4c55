"""AWS Signature Version 4: parsing and verifying header and query (presigned) auth.

Pure functions over a protocol-neutral ``SignedRequest``; the HTTP layer
builds one from the wire request. Verification never needs the body: the
payload hash the client declared (``x-amz-content-sha256``) is part of the
signature, and the body is checked against it while it streams.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

from s3compat.errors import S3Error
from stratus.digits import ascii_uint

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_MODES = frozenset(
    {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
)
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_SPACES = re.compile(r"\s+")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")  # AWS takes either case
# The one x-amz-* header AWS lets a request carry unsigned: its value is the payload hash,
# which is itself part of the canonical request, so changing it breaks the signature.
UNSIGNED_AMZ_EXEMPT = frozenset({"x-amz-content-sha256"})


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as received on the wire."""

    method: str
    raw_path: str  # percent-encoded as sent, without the query string
    query: Sequence[tuple[str, str]]  # decoded pairs, in order
    headers: Sequence[tuple[str, str]]  # every header line, names in any case
    mapped: Mapping[str, str] | None = None  # header_map(headers), when already made

    def header_map(self) -> Mapping[str, str]:
        return self.mapped if self.mapped is not None else header_map(self.headers)


@dataclass(frozen=True)
class Scope:
    date: str  # YYYYMMDD
    region: str
    service: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class SigV4Auth:
    """A verified SigV4 request: who signed it, and what a streaming body needs."""

    access_key: str
    amz_date: str
    scope: Scope
    signature: str
    payload_hash: str  # x-amz-content-sha256 value (or UNSIGNED-PAYLOAD)
    signing_key: bytes
    presigned: bool
    canonical: str = ""  # the canonical request (a chunk signature's mismatch names it)

    @property
    def streaming(self) -> bool:
        return self.payload_hash in STREAMING_MODES


SecretLookup = Callable[[str], str | None]


@lru_cache(maxsize=1024)
def signing_key(secret: str, scope: Scope) -> bytes:
    """The day's key for one scope (cached: it changes once a day per credential)."""
    key = ("AWS4" + secret).encode()
    for part in (scope.date, scope.region, scope.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def uri_encode(value: str) -> str:
    """RFC 3986 encoding as SigV4 wants it: only unreserved characters stay."""
    return quote(value, safe="-_.~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def header_map(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names; repeated headers joined by commas; values trimmed."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.lower(), []).append(_SPACES.sub(" ", value.strip()))
    return {k: ",".join(v) for k, v in out.items()}


def canonical_request(
    req: SignedRequest,
    signed_headers: Sequence[str],
    payload_hash: str,
    headers: Mapping[str, str],
    *,
    skip_query: str | None = None,
) -> str:
    canonical_headers = "".join(f"{h}:{headers.get(h, '')}\n" for h in signed_headers)
    query = [(k, v) for k, v in req.query if k != skip_query]
    return "\n".join(
        [
            req.method,
            req.raw_path or "/",
            canonical_query(query),
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(amz_date: str, scope: Scope, canonical: str) -> str:
    # Header bytes that were not UTF-8 arrive as surrogates: hash the bytes as received.
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _parse_credential(credential: str, error_code: str) -> tuple[str, Scope]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise S3Error(error_code, f"Credential is malformed: {credential!r}")
    if not re.fullmatch(r"\d{8}", parts[1]):
        raise S3Error(error_code, "Credential date must be YYYYMMDD")
    return parts[0], Scope(parts[1], parts[2], parts[3])


def parse_authorization(value: str) -> tuple[str, Scope, list[str], str]:
    """Split an ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    algo, _, rest = value.strip().partition(" ")
    if algo != ALGORITHM:
        raise S3Error("AuthorizationHeaderMalformed", f"Unsupported algorithm {algo!r}")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            raise S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed")
        fields[key] = val
    try:
        credential = fields["Credential"]
        signed = fields["SignedHeaders"]
        signature = fields["Signature"]
    except KeyError as exc:
        raise S3Error(
            "AuthorizationHeaderMalformed", f"The authorization header is missing {exc.args[0]}"
        ) from None
    access, scope = _parse_credential(credential, "AuthorizationHeaderMalformed")
    return access, scope, _signed_header_list(signed), signature


def _signed_header_list(value: str) -> list[str]:
    names = [h for h in value.split(";") if h]
    if not names or names != sorted(names) or any(h != h.lower() for h in names):
        raise S3Error("AuthorizationHeaderMalformed", "SignedHeaders must be sorted lower case")
    if "host" not in names:
        raise S3Error("AuthorizationHeaderMalformed", "SignedHeaders must include host")
    return names


_AMZ_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")


def _parse_amz_date(value: str, code: str = "AccessDenied") -> datetime:
    m = _AMZ_DATE_RE.match(value)  # strptime is slow, and this runs on every request
    try:
        if m is None:
            raise ValueError(value)
        return datetime(*map(int, m.groups()), tzinfo=UTC)
    except ValueError:
        raise S3Error(code, f"Invalid date {value!r}: expected YYYYMMDD'T'HHMMSS'Z'") from None


def _check_scope(scope: Scope, amz_date: str, region: str, code: str) -> None:
    if scope.service != "s3":
        raise S3Error(code, f"Credential should be scoped to service 's3', not {scope.service!r}")
    if scope.region != region:
        raise S3Error(
            code,
            f"the region '{scope.region}' is wrong; expecting '{region}'",
            extra={"Region": region},
        )
    if not amz_date.startswith(scope.date):
        raise S3Error(code, "Credential date does not match X-Amz-Date")


def _lookup(access: str, secrets: SecretLookup) -> str:
    secret = secrets(access)
    if secret is None:
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            extra={"AWSAccessKeyId": access},
        )
    return secret


def _hex_bytes(text: str) -> str:
    """The bytes of ``text`` as the client sent them (headers arrive surrogate-escaped)."""
    try:
        raw = text.encode(errors="surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode(errors="replace")
    return " ".join(f"{b:02x}" for b in raw)


def signature_mismatch(access: str, sts: str, given: str, canonical: str | None = None) -> S3Error:
    """SignatureDoesNotMatch with what AWS shows the signer to debug it (nothing secret:
    the string signed and the canonical request, when there is one; never the key)."""
    extra = {
        "AWSAccessKeyId": access,
        "StringToSign": sts,
        "SignatureProvided": given,
        "StringToSignBytes": _hex_bytes(sts),
    }
    if canonical is not None:
        extra |= {"CanonicalRequest": canonical, "CanonicalRequestBytes": _hex_bytes(canonical)}
    return S3Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        extra=extra,
    )


def _compare(expected: str, given: str, canonical: str, sts: str, access: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.lower().encode(errors="replace")):
        raise signature_mismatch(access, sts, given, canonical)


def check_payload_hash(value: str) -> None:
    """x-amz-content-sha256 is a payload mode or a SHA-256 hex digest (InvalidArgument)."""
    if value in STREAMING_MODES or value == UNSIGNED_PAYLOAD or _HEX64.match(value):
        return
    modes = ", ".join([UNSIGNED_PAYLOAD, *sorted(STREAMING_MODES)])
    raise S3Error(
        "InvalidArgument",
        f"x-amz-content-sha256 must be {modes} or a valid sha256 value.",
        extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value[:256]},
    )


def check_amz_headers_signed(headers: Mapping[str, str], signed: Sequence[str]) -> None:
    """Refuse x-amz-* headers the signature does not cover, as AWS does.

    SigV4 only requires ``host`` to be signed, yet x-amz-* headers steer the
    request (x-amz-copy-source turns a PUT into a copy, x-amz-acl publishes
    the object): honouring an unsigned one would let whoever holds a signed
    request or presigned URL add powers the signer never granted.
    """
    covered = set(signed)
    missing = sorted(
        name
        for name in headers
        if name.startswith("x-amz-") and name not in covered and name not in UNSIGNED_AMZ_EXEMPT
    )
    if missing:
        raise S3Error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            extra={"HeadersNotSigned": ", ".join(missing)},
        )


def declared_payload_hash(headers: Mapping[str, str]) -> str:
    """A header-signed request's x-amz-content-sha256: required, a mode or a digest."""
    payload_hash = headers.get("x-amz-content-sha256")
    if payload_hash is None:
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    check_payload_hash(payload_hash)
    return payload_hash


def verify_header_auth(
    req: SignedRequest, secrets: SecretLookup, *, region: str, now: datetime
) -> SigV4Auth:
    """Verify a request signed in its Authorization header."""
    headers = req.header_map()
    access, scope, signed_headers, signature = parse_authorization(headers["authorization"])
    amz_date = headers.get("x-amz-date")
    if amz_date is None:
        raise S3Error("AccessDenied", "AWS authentication requires a valid X-Amz-Date header")
    when = _parse_amz_date(amz_date)
    if abs(now - when) > MAX_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            extra={"RequestTime": amz_date, "ServerTime": now.strftime(_AMZ_DATE)},
        )
    _check_scope(scope, amz_date, region, "AuthorizationHeaderMalformed")
    payload_hash = declared_payload_hash(headers)
    secret = _lookup(access, secrets)
    key = signing_key(secret, scope)
    canonical = canonical_request(req, signed_headers, payload_hash, headers)
    sts = string_to_sign(amz_date, scope, canonical)
    _compare(sign(key, sts), signature, canonical, sts, access)
    check_amz_headers_signed(headers, signed_headers)
    return SigV4Auth(
        access, amz_date, scope, signature.lower(), payload_hash, key, False, canonical
    )


def _presign_expires(raw: str, code: str) -> int:
    """X-Amz-Expires: whole seconds, at most a week; each wrong form has AWS's own message."""
    value = ascii_uint(raw.removeprefix("-"))
    if value is None:
        raise S3Error(code, "X-Amz-Expires should be a number")
    if raw.startswith("-"):
        raise S3Error(code, "X-Amz-Expires must be non-negative")
    if value > MAX_PRESIGN_EXPIRES:
        raise S3Error(
            code,
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            f"X-Amz-Expires must be less than {MAX_PRESIGN_EXPIRES} seconds",
        )
    return value


def verify_query_auth(
    req: SignedRequest, secrets: SecretLookup, *, region: str, now: datetime
) -> SigV4Auth:
    """Verify a presigned URL (X-Amz-* query parameters); expiry enforced."""
    params = dict(req.query)
    code = "AuthorizationQueryParametersError"
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise S3Error(code, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    try:
        credential = params["X-Amz-Credential"]
        amz_date = params["X-Amz-Date"]
        expires_raw = params["X-Amz-Expires"]
        signed = params["X-Amz-SignedHeaders"]
        signature = params["X-Amz-Signature"]
    except KeyError as exc:
        raise S3Error(code, f"Query-string authentication requires {exc.args[0]}") from None
    access, scope = _parse_credential(credential, code)
    expires = _presign_expires(expires_raw, code)
    when = _parse_amz_date(amz_date, code)
    # (when + expires may pass year 9999.) A lifetime of 0 has always expired, as on AWS.
    if expires == 0 or now - when > timedelta(seconds=expires):
        raise S3Error(
            "AccessDenied",
            "Request has expired",
            extra={
                "X-Amz-Expires": str(expires),
                "Expires": (when + timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    if when - now > MAX_SKEW:
        raise S3Error("AccessDenied", "Request is not valid yet")
    _check_scope(scope, amz_date, region, code)
    headers = req.header_map()
    signed_headers = _signed_header_list(signed)
    # A presigned request may still sign its payload hash in the header (botocore, AWS).
    # Any other value is compared with the body's SHA-256 (XAmzContentSHA256Mismatch).
    payload_hash = params.get("X-Amz-Content-Sha256") or headers.get("x-amz-content-sha256")
    if payload_hash is None:
        payload_hash = UNSIGNED_PAYLOAD
    secret = _lookup(access, secrets)
    key = signing_key(secret, scope)
    canonical = canonical_request(
        req, signed_headers, payload_hash, headers, skip_query="X-Amz-Signature"
    )
    sts = string_to_sign(amz_date, scope, canonical)
    _compare(sign(key, sts), signature, canonical, sts, access)
    check_amz_headers_signed(headers, signed_headers)
    return SigV4Auth(access, amz_date, scope, signature.lower(), payload_hash, key, True, canonical)


def chunk_string_to_sign(auth: SigV4Auth, previous: str, chunk_sha256: str) -> str:
    """What each aws-chunked chunk signature covers (chained from the seed)."""
    return "\n".join(
        [
            "AWS4-HMAC-SHA256-PAYLOAD",
            auth.amz_date,
            str(auth.scope),
            previous,
            EMPTY_SHA256,
            chunk_sha256,
        ]
    )


def trailer_string_to_sign(auth: SigV4Auth, previous: str, trailer: bytes) -> str:
    """What the trailer signature covers: the canonical trailer lines."""
    return "\n".join(
        [
            "AWS4-HMAC-SHA256-TRAILER",
            auth.amz_date,
            str(auth.scope),
            previous,
            hashlib.sha256(trailer).hexdigest(),
        ]
    )


def post_signature_mismatch(access: str, policy: str, given: str) -> S3Error:
    """SignatureDoesNotMatch for a browser form: the string signed is the policy as sent."""
    return signature_mismatch(access, policy, given)


def _form_argument(err: S3Error, name: str, value: str) -> S3Error:
    extra = {"ArgumentName": name, "ArgumentValue": value, **err.extra}
    return S3Error("InvalidArgument", err.message, extra=extra)


def verify_post_policy(
    policy: str,
    credential: str,
    amz_date: str,
    signature: str,
    secrets: SecretLookup,
    *,
    region: str,
    now: datetime,
) -> str:
    """A browser form's SigV4 signature (the hex HMAC of the base64 policy, as sent, under
    the day's key); returns the access key. A signing key lives a week (AWS), so a form
    signed longer ago has expired whatever its policy says."""
    try:
        access, scope = _parse_credential(credential, "InvalidArgument")
        _check_scope(scope, amz_date, region, "InvalidArgument")
    except S3Error as err:
        raise _form_argument(err, "X-Amz-Credential", credential) from None
    try:
        when = _parse_amz_date(amz_date, "InvalidArgument")
    except S3Error:
        err = S3Error("InvalidArgument", "X-Amz-Date must be formated via ISO8601 Long format")
        raise _form_argument(err, "X-Amz-Date", amz_date) from None
    if now - when > timedelta(seconds=MAX_PRESIGN_EXPIRES):
        raise S3Error("AccessDenied", "Invalid according to Policy: Policy expired.")
    key = signing_key(_lookup(access, secrets), scope)
    expected = sign(key, policy)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode(errors="replace")):
        raise post_signature_mismatch(access, policy, signature)
    return access
