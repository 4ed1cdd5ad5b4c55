"""One S3 request in flight: what was asked, who asks, and helpers to answer.

Handlers receive an :class:`S3Context` and return an aiohttp response; they
never parse the wire again. Failures of the proxy core are turned into S3
errors here, in one place (:func:`s3_error_from_core`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ContainerInfo
from objectstore.timestamp import Timestamp
from s3compat import xmlio
from s3compat.errors import S3Error
from s3compat.router import S3Request

if TYPE_CHECKING:
    from objectstore.proxy.core import ProxyCore
    from s3compat.auth import RequestBody
    from s3compat.sigv4 import SigV4Auth
    from s3compat.sse_keys import KeyRing
    from stratus.identity import IdentityStore, Principal

MAX_XML_REQUEST = 1024 * 1024


@dataclass
class S3Settings:
    """What the S3 app needs from configuration (``config.s3``), plus a test clock."""

    region: str = "us-east-1"
    base_domain: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sse_keys: KeyRing | None = None  # the cluster's SSE-S3 keys (None: SSE-S3 refused)
    sse_c_plain_http: bool = False  # accept SSE-C keys without TLS (s3.sse_c_plain_http)
    lifecycle_debug_day_seconds: int = 0  # a lifecycle "day" in seconds (0: a real day)
    default_checksum: bool = True  # CRC64NVME for uploads without a checksum (as AWS)


@dataclass
class Bucket:
    """A resolved bucket: the container that holds it and its info."""

    account: str
    name: str
    info: ContainerInfo

    @property
    def system(self) -> dict[str, str]:
        return self.info.system


@dataclass
class S3Context:
    """Everything a handler needs about the current request."""

    request: web.Request
    core: ProxyCore
    identity: IdentityStore
    settings: S3Settings
    s3: S3Request
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names, repeated headers joined by ","
    request_id: str
    principal: Principal | None = None
    sigv4: SigV4Auth | None = None
    body: RequestBody | None = None
    bucket: Bucket | None = None  # filled by the access check for bucket/object scopes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bucket_name(self) -> str:
        assert self.s3.bucket is not None
        return self.s3.bucket

    @property
    def key(self) -> str:
        assert self.s3.key is not None
        return self.s3.key

    @property
    def account(self) -> str:
        """The account holding the bucket (after resolution)."""
        assert self.bucket is not None
        return self.bucket.account

    @property
    def method(self) -> str:
        return self.request.method

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    async def read_body(self, limit: int = MAX_XML_REQUEST) -> bytes:
        """The whole (verified) request body, for small XML documents."""
        if self.body is None:
            return b""
        return await self.body.read_all(limit)

    async def read_xml(self, root: str) -> Any:
        data = await self.read_body()
        return xmlio.parse_xml(data, root)


def xml_response(root: str, value: Mapping[str, Any] | str, *, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=xmlio.to_xml(root, value), content_type="application/xml"
    )


def empty(status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=dict(headers or {}))


def to_datetime(ts: Timestamp | float) -> datetime:
    """A listing time: whole seconds rounded up, like Last-Modified."""
    return datetime.fromtimestamp(math.ceil(float(ts)), UTC)


def etag_header(etag: str) -> str:
    return f'"{etag}"'


# The one mapping from core failures to S3 errors.
_CORE_ERRORS: list[tuple[type[core_errors.ProxyError], str]] = [
    (core_errors.ContainerNotFound, "NoSuchBucket"),
    (core_errors.ObjectNotFound, "NoSuchKey"),
    (core_errors.ContainerNotEmpty, "BucketNotEmpty"),
    (core_errors.EtagMismatch, "BadDigest"),
    (core_errors.EntityTooLarge, "EntityTooLarge"),
    (core_errors.RangeNotSatisfiable, "InvalidRange"),
    (core_errors.ClientDisconnected, "IncompleteBody"),
    (core_errors.ClientTimeout, "RequestTimeout"),
    (core_errors.PreconditionFailed, "PreconditionFailed"),
    (core_errors.ServiceUnavailable, "ServiceUnavailable"),
    (core_errors.Retained, "AccessDenied"),  # a retained version (S3 Object Lock)
    (core_errors.Conflict, "OperationAborted"),
    (core_errors.InvalidInput, "InvalidArgument"),
    (core_errors.NotFound, "NoSuchKey"),
]


def s3_error_from_core(exc: core_errors.ProxyError, ctx: S3Context | None = None) -> S3Error:
    """The S3 error for a core failure (a body failure found while streaming wins)."""
    if ctx is not None and ctx.body is not None and ctx.body.error is not None:
        return ctx.body.error
    cause = exc.__cause__
    if isinstance(cause, S3Error):
        return cause
    for kind, code in _CORE_ERRORS:
        if isinstance(exc, kind):
            body = ctx.body if ctx is not None else None
            if code == "BadDigest" and body is not None and body.content_md5 is not None:
                return body.bad_digest()
            extra: dict[str, str] = {}
            if code == "NoSuchBucket" and ctx is not None and ctx.s3.bucket:
                extra["BucketName"] = ctx.s3.bucket
            elif code == "NoSuchKey" and ctx is not None and ctx.s3.key:
                extra["Key"] = ctx.s3.key
            message = exc.message if code in ("InvalidArgument", "IncompleteBody") else None
            return S3Error(code, message or None, extra=extra)
    return S3Error("InternalError")
