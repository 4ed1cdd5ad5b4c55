"""The S3 HTTP application: parse, authenticate, authorise, dispatch, answer.

Every request goes the same way: the router names the AWS operation, the
signature is verified (:mod:`s3compat.auth`), the bucket is resolved and
access decided (:mod:`s3compat.access`), then the operation's handler
runs. Errors of any layer become the S3 XML error body here, and every
response carries ``x-amz-request-id``: the request's shared id
(:mod:`stratus.http.requestid`), so the log lines of the proxy and the
nodes (sent it as ``X-Trans-Id``) carry it too. Operations the router knows but
Stratus does not implement answer ``NotImplemented`` naming the operation.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote_to_bytes

from aiohttp import web

from objectstore.proxy.errors import ProxyError
from s3compat import (
    access,
    cors,
    inflight,
    lifecycle_run,
    post_object,
    router,
    sigv4,
    sse_keys,
)
from s3compat.auth import RequestBody, authenticate, wire_target
from s3compat.context import S3Context, S3Settings, s3_error_from_core
from s3compat.errors import S3Error, error_xml
from s3compat.handlers import HANDLERS
from s3compat.sigv4 import header_map
from stratus.authlimit import AuthLimits, FailureLimiter, retry_after_header
from stratus.config import Config
from stratus.http import requestid
from stratus.identity import IdentityStore
from stratus.metrics import ServiceMetrics

if TYPE_CHECKING:
    from objectstore.proxy.core import ProxyCore

log = logging.getLogger("stratus.s3")

MAX_QUERY_PAIRS = 64
# Signature checks that fail for a wrong key or secret: each costs the client address a token.
AUTH_FAILURES = frozenset({"SignatureDoesNotMatch", "InvalidAccessKeyId"})


@dataclass
class S3State:
    core: ProxyCore
    identity: IdentityStore
    settings: S3Settings
    limiter: FailureLimiter


STATE = web.AppKey("s3_state", S3State)
_CTX = web.RequestKey("s3_ctx", S3Context)
_CONTINUED = web.RequestKey("s3_continued", bool)  # 100 Continue sent


def _amz_id(request: web.Request) -> str:
    """16 upper-case hex digits, the form of AWS's ``x-amz-request-id``."""
    return secrets.token_hex(8).upper()


#: S3's request ids: answered in ``x-amz-request-id`` and (as the host id) ``x-amz-id-2``.
AMZ_IDS = requestid.IdStyle(("x-amz-request-id", "x-amz-id-2"), _amz_id)


# Uploads whose body must be framed by Content-Length (or chunked transfer encoding).
_NEEDS_LENGTH = frozenset({"PutObject", "UploadPart"})


def make_s3_app(
    core: ProxyCore,
    identity: IdentityStore,
    config: Config,
    *,
    settings: S3Settings | None = None,
    limiter: FailureLimiter | None = None,
    metrics: ServiceMetrics | None = None,
) -> web.Application:
    """The S3 API over ``core``, with credentials from ``identity`` and ``config.s3``.

    ``limiter`` counts failed signatures per client address (share the Swift
    app's so both APIs draw on one budget); default: one from ``config``.
    ``metrics`` counts the requests (the proxy passes the Swift app's, which
    serves ``/metrics``: on this port the path is a bucket); default: a new one.
    """
    if limiter is None:
        limiter = FailureLimiter(AuthLimits.from_config(config))
    if settings is None:
        settings = S3Settings(
            region=config.s3.region,
            base_domain=config.s3.base_domain,
            sse_keys=sse_keys.KeyRing(sse_keys.path_for(config)),
            sse_c_plain_http=config.s3.sse_c_plain_http,
            lifecycle_debug_day_seconds=config.s3.lifecycle_debug_day_seconds,
            default_checksum=config.s3.default_checksum,
        )
    app = web.Application(
        client_max_size=1024 * 1024,
        handler_args={"auto_decompress": False, "max_field_size": 16384},
    )
    app[STATE] = S3State(core, identity, settings, limiter)
    (metrics or ServiceMetrics()).attach(app, "s3", operation_name)
    app.router.add_route("*", "/{tail:.*}", _handle, expect_handler=_defer_continue)
    app.on_response_prepare.append(requestid.stamp)
    app.on_response_prepare.append(_stamp)
    if config.s3.lifecycle_interval > 0:
        app.cleanup_ctx.append(
            lifecycle_run.background(core, settings, config.s3.lifecycle_interval)
        )
    return app


def operation_name(request: web.Request) -> str:
    """The AWS operation the router named (``PutObject``...), the metrics label."""
    ctx = request.get(_CTX)
    return ctx.s3.op.name if ctx is not None else "unrouted"


async def _defer_continue(request: web.Request) -> None:
    """Hold ``100 Continue`` back (aiohttp's default sends it at once): :func:`_continue`
    sends it once the request is authorized, so a refusal costs the client no body (AWS)."""


def _awaits_continue(request: web.Request) -> bool:
    """The client holds its body back for a ``100 Continue`` not sent yet."""
    return (
        request.headers.get("expect", "").lower() == "100-continue"
        and request.version == (1, 1)
        and _CONTINUED not in request
    )


async def _continue(request: web.Request) -> None:
    if _awaits_continue(request):
        request[_CONTINUED] = True
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the response proper has not started (as aiohttp)


async def _stamp(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every response carries (beside the request id), added just before they are sent."""
    response.headers.setdefault("Server", "Stratus")
    ctx = request.get(_CTX)
    if ctx is not None and ctx.extra.get("cors_headers"):
        for k, v in ctx.extra["cors_headers"].items():
            response.headers.setdefault(k, v)


def _decode_path(raw_path: str) -> str:
    try:
        return unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidArgument", "The request path is not valid UTF-8") from None


def _query(raw_query: str) -> list[tuple[str, str]]:
    try:
        pairs = parse_qsl(raw_query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise S3Error("InvalidArgument", "The query string is not valid UTF-8") from None
    if len(pairs) > MAX_QUERY_PAIRS:
        raise S3Error("InvalidArgument", "Too many query parameters")
    return pairs


async def _handle(request: web.Request) -> web.StreamResponse:
    rid = requestid.begin(request, AMZ_IDS)
    try:
        return await _serve(request, rid)
    except S3Error as err:
        return _error_response(request, err, rid)
    except ProxyError as exc:
        return _error_response(request, s3_error_from_core(exc, request.get(_CTX)), rid)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("S3 request %s %s failed", request.method, request.path)
        return _error_response(request, S3Error("InternalError"), rid)


def _payload_hash_first(headers: dict[str, str]) -> None:
    """AWS judges a header-signed SigV4 request's x-amz-content-sha256 (missing, or not a
    payload mode nor a digest: 400) before it answers MethodNotAllowed."""
    if not headers.get("authorization", "").startswith(sigv4.ALGORITHM):
        return
    sigv4.declared_payload_hash(headers)


async def _serve(request: web.Request, rid: str) -> web.StreamResponse:
    state = request.app[STATE]
    raw_path, raw_query = wire_target(request)
    path = _decode_path(raw_path)
    pairs = _query(raw_query)
    query: dict[str, str] = {}
    for k, v in pairs:
        query.setdefault(k, v)
    headers = header_map(request.headers.items())
    try:
        s3req = router.parse(
            request.method,
            path,
            query,
            headers,
            host=headers.get("host", ""),
            base_domain=state.settings.base_domain,
        )
    except S3Error as err:
        if err.code == "MethodNotAllowed":
            _payload_hash_first(headers)
        raise
    ctx = S3Context(
        request=request,
        core=state.core,
        identity=state.identity,
        settings=state.settings,
        s3=s3req,
        query=query,
        headers=headers,
        request_id=rid,
    )
    request[_CTX] = ctx
    if s3req.op is router.CORS_PREFLIGHT:
        return await cors.handle_preflight(ctx)
    wait = state.limiter.retry_after(request.remote)
    if wait:  # too many bad signatures from this address: refused unchecked, as AWS throttles
        raise S3Error("SlowDown", headers={"Retry-After": retry_after_header(wait)})
    try:
        if s3req.op.name == "PostObject":  # a browser form: its policy is signed, not the request
            await _continue(request)
            auth = await post_object.authenticate_form(ctx)
        else:
            auth = authenticate(
                request,
                pairs,
                headers,
                state.identity,
                region=state.settings.region,
                now=state.settings.clock(),
                virtual_bucket=s3req.bucket if s3req.virtual_host else None,
            )
    except S3Error as err:
        if err.code in AUTH_FAILURES:
            state.limiter.charge(request.remote)
        raise
    ctx.principal = auth.principal
    ctx.sigv4 = auth.sigv4
    handler = HANDLERS.get(s3req.op.name)
    if handler is None or not s3req.op.implemented:
        raise S3Error("NotImplemented", f"{s3req.op.name} is not implemented by Stratus")
    if (
        s3req.op.name in _NEEDS_LENGTH
        and request.content_length is None
        and "transfer-encoding" not in headers
    ):
        raise S3Error("MissingContentLength")  # a body without a length cannot be framed
    summed = s3req.op.name != "CompleteMultipartUpload"  # its checksum names the object
    ctx.body = RequestBody(
        request.content, headers, auth.sigv4, request.content_length, summed=summed
    )
    await access.authorize(ctx)
    await _continue(request)
    if "origin" in headers and ctx.bucket is not None:
        ctx.extra["cors_headers"] = cors.response_headers(ctx)
    if s3req.op.name in inflight.KEY_WRITES:
        with inflight.writing(ctx):  # seen by conditional writes of the same key
            return await handler(ctx)
    return await handler(ctx)


def _error_response(request: web.Request, err: S3Error, rid: str) -> web.Response:
    if err.status >= 500:
        log.warning("S3 %s %s: %s %s", request.method, request.path, err.code, err.message)
    headers = dict(err.headers)
    if err.status in (304,) or request.method == "HEAD":
        response = web.Response(status=err.status, headers=headers)
    else:
        body = error_xml(err, resource=request.path, request_id=rid)
        response = web.Response(
            status=err.status, body=body, headers=headers, content_type="application/xml"
        )
    if _awaits_continue(request):
        response.force_close()  # the body never comes: the connection cannot carry on
    return response
