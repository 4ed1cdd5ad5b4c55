"""From the wire request to a verified principal, and a body that verifies itself.

:func:`authenticate` picks the scheme the request uses (SigV4 header or
presigned query, SigV2 header or query, or none: anonymous) and returns who
signed it. :class:`RequestBody` then streams the payload to the handler,
decoding ``aws-chunked`` when the client streams, and checks on the way
everything the client promised about it: the signed SHA-256
(``x-amz-content-sha256``), chunk and trailer signatures, ``Content-MD5``
and the ``x-amz-checksum-*`` value (header or trailer). A failed check
raises from the iterator before it ends, so the core aborts the write and
nothing is stored; the error is also kept in ``RequestBody.error`` so the
handler reports it rather than the core's generic "body failed".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from s3compat import checksums, sigv2, sigv4
from s3compat.chunked import AwsChunkedDecoder, incomplete_body
from s3compat.errors import S3Error
from stratus.digits import ascii_uint
from stratus.identity import IdentityStore, Principal
from stratus.identity import NotFound as IdentityNotFound

READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class AuthResult:
    """Who signed the request (None: anonymous) and the SigV4 details streaming needs."""

    principal: Principal | None
    access_key: str | None = None
    sigv4: sigv4.SigV4Auth | None = None


def wire_target(request: web.Request) -> tuple[str, str]:
    """(raw path, raw query) as sent; an absolute-form target (via a proxy) loses its origin."""
    target = request.raw_path
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        target = rest[cut:]
        if not target.startswith("/"):
            target = "/" + target
    raw_path, _, raw_query = target.partition("?")
    return raw_path, raw_query


def signed_request(
    request: web.Request, query: list[tuple[str, str]], mapped: Mapping[str, str] | None = None
) -> sigv4.SignedRequest:
    raw_path = wire_target(request)[0]
    headers = list(request.headers.items())
    return sigv4.SignedRequest(request.method, raw_path, query, headers, mapped)


class Secrets:
    """Looks access keys up in identity, remembering the principal of the one found."""

    def __init__(self, identity: IdentityStore) -> None:
        self.identity = identity
        self.principal: Principal | None = None

    def __call__(self, access: str) -> str | None:
        try:
            secret, principal = self.identity.lookup_credential(access)
        except IdentityNotFound:
            return None
        self.principal = principal
        return secret


def authenticate(
    request: web.Request,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    identity: IdentityStore,
    *,
    region: str,
    now: datetime,
    virtual_bucket: str | None,
) -> AuthResult:
    """Verify the request's signature; anonymous when it carries none."""
    params = dict(query)
    authz = headers.get("authorization", "")
    req = signed_request(request, query, headers)
    secrets = Secrets(identity)
    if authz:
        if authz.startswith(sigv4.ALGORITHM):
            v4 = sigv4.verify_header_auth(req, secrets, region=region, now=now)
            return AuthResult(secrets.principal, v4.access_key, v4)
        if authz.startswith("AWS "):
            v2 = sigv2.verify_header_auth(req, secrets, now=now, bucket_from_host=virtual_bucket)
            return AuthResult(secrets.principal, v2.access_key)
        raise S3Error("InvalidArgument", "Unsupported Authorization Type")
    if "X-Amz-Algorithm" in params or "X-Amz-Credential" in params:
        v4 = sigv4.verify_query_auth(req, secrets, region=region, now=now)
        return AuthResult(secrets.principal, v4.access_key, v4)
    if "AWSAccessKeyId" in params or "Signature" in params:
        v2 = sigv2.verify_query_auth(req, secrets, now=now, bucket_from_host=virtual_bucket)
        return AuthResult(secrets.principal, v2.access_key)
    return AuthResult(None)


def _content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise S3Error("InvalidDigest")
    return raw


class RequestBody:
    """The request payload, decoded and verified while it streams (iterate once)."""

    def __init__(
        self,
        reader: Any,
        headers: Mapping[str, str],
        auth: sigv4.SigV4Auth | None,
        content_length: int | None,
        *,
        summed: bool = True,
    ) -> None:
        """``summed`` False: the request's x-amz-checksum-* headers describe something else
        (CompleteMultipartUpload's whole object), not this body."""
        self._reader = reader
        self.error: S3Error | None = None
        self._consumed = False
        # SigV2, anonymous or presigned: a SHA-256 the client sends is still checked, as AWS
        # does (a STREAMING-* value there is no digest: it fails as a mismatch, as on AWS)
        payload = (
            auth.payload_hash
            if auth is not None
            else headers.get("x-amz-content-sha256") or sigv4.UNSIGNED_PAYLOAD
        )
        self._decoder: AwsChunkedDecoder | None = None
        self.content_length: int | None = content_length
        self._sha256: tuple[str, Any] | None = None
        if payload in sigv4.STREAMING_MODES:
            length = ascii_uint(headers.get("x-amz-decoded-content-length") or "")
            if length is None:
                raise S3Error("MissingContentLength")  # AWS's own words, for the decoded one too
            if auth is not None and not auth.presigned:  # only a header-signed request streams
                self.content_length = length
                self._decoder = AwsChunkedDecoder(
                    reader, auth, payload, length, trailer=headers.get("x-amz-trailer")
                )
            elif content_length is not None and length < content_length:
                raise incomplete_body(length, content_length)  # AWS: before the mismatch
        if self._decoder is None and payload != sigv4.UNSIGNED_PAYLOAD:
            self._sha256 = (payload, hashlib.sha256())
        md5 = _content_md5(headers.get("content-md5"))
        self.content_md5 = md5.hex() if md5 is not None else None
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 is not None else None
        declared = checksums.declared(headers) if summed else None
        self.checksum_algorithm: str | None = declared[0] if declared else None
        self._checksum_expected = declared[1] if declared else None
        self._checksum = checksums.new(declared[0]) if declared else None
        if declared and declared[1] is None and self._decoder is None:
            raise S3Error("MalformedTrailerError")  # a trailer announced, but no aws-chunked body
        self.checksum_value: str | None = None  # base64, once the body has been read
        self._trailer_declared = bool(headers.get("x-amz-trailer"))
        self.digest_in_base64 = False  # how BadDigest names the Content-MD5 it expected
        self.size = 0

    @property
    def trailers(self) -> dict[str, str]:
        return self._decoder.trailers if self._decoder is not None else {}

    async def _raw(self) -> AsyncIterator[bytes]:
        if self._decoder is not None:
            async for chunk in self._decoder:
                yield chunk
            return
        if self.content_length == 0:
            return
        async for chunk in self._reader.iter_chunked(READ_CHUNK):
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._consumed:
            raise RuntimeError("the request body can be read once")
        self._consumed = True
        try:
            async for chunk in self._raw():
                self.size += len(chunk)
                if self._sha256 is not None:
                    self._sha256[1].update(chunk)
                if self._md5 is not None:
                    self._md5.update(chunk)
                if self._checksum is not None:
                    self._checksum.update(chunk)
                yield chunk
            self._finish()
        except S3Error as exc:
            self.error = exc
            raise

    def _finish(self) -> None:
        if self.content_length is not None and self.size != self.content_length:
            raise incomplete_body(self.content_length, self.size)
        if self._sha256 is not None and self._sha256[1].hexdigest() != self._sha256[0].lower():
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                extra={
                    "ClientComputedContentSHA256": self._sha256[0],
                    "S3ComputedContentSHA256": self._sha256[1].hexdigest(),
                },
            )
        if self._md5 is not None and self._md5.hexdigest() != self.content_md5:
            raise self.bad_digest()
        if self._checksum is not None and self.checksum_algorithm is not None:
            digest = self._checksum.digest()
            expected = self._checksum_expected
            if expected is None and self._decoder is not None:
                expected = self._decoder.trailers.get(
                    checksums.header_name(self.checksum_algorithm)
                )
                if expected is None and self._trailer_declared:
                    raise S3Error("MalformedTrailerError")  # x-amz-trailer named it: none came
            if expected is not None:
                trailing = self._checksum_expected is None  # AWS's message names a trailer
                checksums.verify(self.checksum_algorithm, expected, digest, trailing=trailing)
            self.checksum_value = checksums.encode(digest)

    def compute_checksum(self, algorithm: str) -> None:
        """Sum the body with ``algorithm`` though the request declared no checksum (the
        server's own, as S3 does for a FULL_OBJECT upload's part)."""
        if self._consumed:
            raise RuntimeError("the body has been read already")
        self.checksum_algorithm = algorithm
        self._checksum = checksums.new(algorithm)

    def sum_unless_declared(self, algorithm: str) -> None:
        """The server's own checksum for a body the client declared none for (as S3 gives
        such objects a default one)."""
        if self.checksum_algorithm is None and not self._consumed:
            self.compute_checksum(algorithm)

    def not_a_body_checksum(self) -> None:
        """The request's x-amz-checksum-* describes something else: do not check the body."""
        self._checksum = None
        self._checksum_expected = None
        self._trailer_declared = False

    def bad_digest(self) -> S3Error:
        """BadDigest for a body that does not match its Content-MD5, with both digests."""
        extra = {"ExpectedDigest": self._expected_digest()}
        if self._md5 is not None:
            extra["CalculatedDigest"] = base64.b64encode(self._md5.digest()).decode()
        return S3Error("BadDigest", extra=extra)

    def _expected_digest(self) -> str:
        if self.content_md5 is None:
            return ""
        if self.digest_in_base64:
            return base64.b64encode(bytes.fromhex(self.content_md5)).decode()
        return self.content_md5

    async def read_all(self, limit: int) -> bytes:
        """The whole body (small documents); EntityTooLarge past ``limit`` bytes."""
        if self.content_length is not None and self.content_length > limit:
            raise S3Error("EntityTooLarge", f"The request body is larger than {limit} bytes")
        parts: list[bytes] = []
        total = 0
        async for chunk in self:
            total += len(chunk)
            if total > limit:
                raise S3Error("EntityTooLarge", f"The request body is larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)
