"""POST Object: an upload from an HTML form (``multipart/form-data`` to the bucket's URL).

A browser cannot sign a request, so the form carries a POST policy signed by
whoever handed the form out (SigV4: ``x-amz-algorithm``, ``x-amz-credential``,
``x-amz-date``, ``x-amz-signature``; SigV2: ``AWSAccessKeyId``, ``signature``)
and :mod:`s3compat.post_policy` decides whether the fields the browser filled
in meet it. A form with none of those fields is anonymous: it gets only what
the bucket's ACL or policy grants anyone.

:func:`authenticate_form` runs in the place of header authentication: it reads
the fields up to the ``file`` part (together at most AWS's 20 KB), checks the
signature over the policy as sent, then the policy, then names the request's
key and turns the fields into the headers a PutObject would carry
(``acl`` is ``x-amz-acl``, the ``tagging`` XML is ``x-amz-tagging``), so the
usual access check and write path serve it. :func:`handle_post_object` then
streams the file part into the core as PutObject streams its body (never held
whole), ending it with EntityTooLarge / EntityTooSmall outside the policy's
``content-length-range``; fields after the file are ignored, as on AWS.
The answer is ``success_action_redirect`` (303 with ``bucket``, ``key`` and
``etag`` added to its query) or ``success_action_status``: 200, 201 with a
``PostResponse`` document, or 204 (the default, and for any other value).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.helpers import parse_mimetype
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import parse_content_disposition

from s3compat import meta, post_policy, router, sigv2, sigv4, tagging, writes, xmlio
from s3compat.auth import AuthResult, RequestBody, Secrets
from s3compat.context import S3Context, etag_header
from s3compat.errors import S3Error

MAX_PRE_DATA = 20480  # AWS: the fields and boundaries before the file, at most 20 KB
_LOOKAHEAD = 256 * 1024  # what the multipart parser may read past a part's end (a line)
FILE_CHUNK = 256 * 1024
# Past the policy's maximum the rest of the file is read (not stored) to tell the client its
# size, as AWS does, up to this much more; then the connection is closed.
MAX_DRAIN = 64 * 1024 * 1024
_FORM = "post_form"
_SIZE = "post_size"
_V4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
_V2_FIELDS = ("awsaccesskeyid", "signature")
# Fields that are the form's envelope, never object headers.
_ENVELOPE = frozenset(
    {
        "key",
        "policy",
        "bucket",
        "success_action_status",
        "success_action_redirect",
        "redirect",
        "x-amz-security-token",
        *_V4_FIELDS,
        *_V2_FIELDS,
    }
)
# Form fields that become the object's headers under their own names.
_CONTENT_FIELDS = frozenset(
    {
        "content-type",
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-md5",
        "expires",
    }
)
_NOT_MULTIPART = "Bucket POST must be of the enclosure-type multipart/form-data"


def _malformed() -> S3Error:
    return S3Error("MalformedPOSTRequest")


def _missing(name: str, value: str = "") -> S3Error:
    return S3Error(
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  "
        "If it is specified, please check the order of the fields.",
        extra={"ArgumentName": name, "ArgumentValue": value},
    )


class _Counted:
    """The request stream, counting what the form's fields take until the file begins.

    The parser reads ahead of each part's end and gives back what it did not use, so the
    exact count is judged between parts (:meth:`check`); while a part is read, only a
    hard bound a little past the limit stops a form that never ends.
    """

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self.limit: int | None = limit
        self.used = 0

    def check(self, slack: int = 0) -> None:
        if self.limit is not None and self.used > self.limit + slack:
            raise S3Error(
                "MaxPostPreDataLengthExceeded",
                extra={"MaxPostPreDataLengthBytes": str(self.limit)},
            )

    def _take(self, data: bytes) -> bytes:
        self.used += len(data)
        self.check(_LOOKAHEAD)
        return data

    async def read(self, n: int = -1) -> bytes:
        return self._take(await self._inner.read(n))

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        return self._take(await self._inner.readline(max_line_length=max_line_length))

    def unread_data(self, data: bytes) -> None:
        self.used -= len(data)
        self._inner.unread_data(data)

    def at_eof(self) -> bool:
        return bool(self._inner.at_eof())


@dataclass
class Form:
    """The fields before the file, as sent (name, value), and the file part."""

    fields: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    file: BodyPartReader | None = None
    filename: str | None = None  # None: the file part named none (${filename} stays as is)

    def values(self) -> dict[str, str]:
        """Lower-case names to values, ``${filename}`` expanded; repeated fields joined by
        commas (AWS)."""
        out: dict[str, str] = {}
        for name, value in self.fields:
            if self.filename is not None:
                value = value.replace("${filename}", self.filename)
            low = name.lower()
            out[low] = f"{out[low]},{value}" if low in out else value
        return out


_FILENAME = re.compile(r'(?:^|;)\s*filename\s*=\s*(?:"([^"]*)"|([^;]*))', re.IGNORECASE)


def _filename(disposition: str) -> str | None:
    """The file part's ``filename`` as a browser sends it: raw, backslashes and all (a
    browser escapes only quotes and line ends, as %22, %0D, %0A); only what follows the
    last slash or backslash of a path is kept (AWS). None: no filename at all."""
    m = _FILENAME.search(disposition)
    if m is None:
        return None
    raw = m.group(1) if m.group(1) is not None else m.group(2).strip()
    return raw.replace("\\", "/").rsplit("/", 1)[-1]


async def _field_value(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(8192):
        data.extend(chunk)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed() from None  # "The form and policy must be UTF-8 encoded"


async def read_form(request: web.Request, headers: Mapping[str, str]) -> Form:
    """The fields up to the ``file`` part (the file itself is left to stream)."""
    mimetype = parse_mimetype(headers.get("content-type", ""))
    if mimetype.type != "multipart" or mimetype.subtype != "form-data":
        raise S3Error("PreconditionFailed", extra={"Condition": _NOT_MULTIPART})
    if not mimetype.parameters.get("boundary"):
        raise _malformed()
    stream = _Counted(request.content, MAX_PRE_DATA)
    form = Form()
    try:
        reader = MultipartReader(request.headers, cast(Any, stream))
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise _malformed()  # a nested multipart is no form field
            disposition = part.headers.get("Content-Disposition", "")
            kind, params = parse_content_disposition(disposition)
            name = params.get("name")
            if not name:
                raise _malformed()
            stream.check()
            if name.lower() == "file" and kind == "form-data":
                stream.limit = None
                form.file = part
                form.filename = _filename(disposition)
                return form
            form.fields.append((name, await _field_value(part)))
        stream.check()
    except (ValueError, AssertionError, HttpProcessingError):
        raise _malformed() from None
    return form


def _required(values: Mapping[str, str], names: tuple[tuple[str, str], ...]) -> list[str]:
    out: list[str] = []
    for low, shown in names:
        if low not in values:
            raise _missing(shown)
        out.append(values[low])
    return out


def _signer(ctx: S3Context, values: Mapping[str, str]) -> tuple[Secrets, frozenset[str]] | None:
    """Verify the form's signature; the principal's lookup and the fields the coverage rule
    exempts, or None for an anonymous form."""
    secrets = Secrets(ctx.identity)
    if any(n in values for n in _V4_FIELDS):
        algorithm, credential, signature, amz_date, policy = _required(
            values,
            (
                ("x-amz-algorithm", "X-Amz-Algorithm"),
                ("x-amz-credential", "X-Amz-Credential"),
                ("x-amz-signature", "X-Amz-Signature"),
                ("x-amz-date", "X-Amz-Date"),
                ("policy", "Policy"),
            ),
        )
        if algorithm != sigv4.ALGORITHM:
            raise S3Error(
                "InvalidArgument",
                f'X-Amz-Algorithm only supports "{sigv4.ALGORITHM}"',
                extra={"ArgumentName": "X-Amz-Algorithm", "ArgumentValue": algorithm},
            )
        now = ctx.settings.clock()
        sigv4.verify_post_policy(
            policy, credential, amz_date, signature, secrets, region=ctx.settings.region, now=now
        )
        return secrets, frozenset({"x-amz-signature", "file", "policy"})
    if any(n in values for n in _V2_FIELDS):
        access, signature, policy = _required(
            values,
            (
                ("awsaccesskeyid", "AWSAccessKeyId"),
                ("signature", "Signature"),
                ("policy", "Policy"),
            ),
        )
        sigv2.verify_post_policy(policy, access, signature, secrets)
        return secrets, frozenset({"awsaccesskeyid", "signature", "file", "policy"})
    return None


async def authenticate_form(ctx: S3Context) -> AuthResult:
    """Read the form up to its file and verify it: who signed it, and that it meets its policy.

    Names the request's key and sets ``ctx.headers`` to what the fields say about the object.
    """
    form = await read_form(ctx.request, ctx.headers)
    ctx.extra[_FORM] = form
    if form.file is None:
        raise S3Error(
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
            extra={"ArgumentName": "file", "ArgumentValue": "0"},
        )
    values = form.values()
    key = values.get("key")
    if key is None:
        raise _missing("key")
    router.validate_key(key)
    signer = _signer(ctx, values)
    size = post_policy.SizeRange()
    if signer is not None:
        policy = post_policy.parse(values["policy"])
        facts = {**values, "bucket": ctx.bucket_name}
        sent = [name for name, _ in form.fields]
        size = post_policy.check(policy, facts, sent, signer[1], now=ctx.settings.clock())
    ctx.extra[_SIZE] = size
    ctx.s3 = dataclasses.replace(ctx.s3, key=key)
    ctx.headers = _object_headers(ctx.headers, values)
    return AuthResult(signer[0].principal if signer is not None else None)


def _tagging(document: str) -> str:
    """The ``tagging`` field (a ``<Tagging>`` document) as x-amz-tagging's query form."""
    pairs = tagging.pairs_from_xml(xmlio.parse_xml(document.encode(), "Tagging"))
    meta.check_tags(pairs)
    return meta.query_tags(pairs)


def _object_headers(request: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """The headers a PutObject of this form would carry: the request's own, less what
    described the form's body, plus the fields that describe the object."""
    out = {
        k: v
        for k, v in request.items()
        if not k.startswith(("content-", "x-amz-", "if-")) and k not in _CONTENT_FIELDS
    }
    for name, value in values.items():
        if name in _ENVELOPE or name.startswith(post_policy.IGNORED_PREFIX):
            continue
        if name == "acl":
            out["x-amz-acl"] = value
        elif name == "tagging":
            out["x-amz-tagging"] = _tagging(value)
        elif name in _CONTENT_FIELDS or name.startswith("x-amz-"):
            out[name] = value
    return out


class _FileBody:
    """The file part as a request body stream, held to the policy's size range."""

    def __init__(self, part: BodyPartReader, size: post_policy.SizeRange) -> None:
        self._part = part
        self._size = size

    async def _drain(self, seen: int) -> int:
        while seen <= self._size_cap() and (chunk := await self._part.read_chunk(FILE_CHUNK)):
            seen += len(chunk)
        return seen

    def _size_cap(self) -> int:
        return (self._size.maximum or 0) + MAX_DRAIN

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        seen = 0
        maximum = self._size.maximum
        try:
            while chunk := await self._part.read_chunk(max(n, FILE_CHUNK)):
                seen += len(chunk)
                if maximum is not None and seen > maximum:
                    raise S3Error(
                        "EntityTooLarge",
                        "Your proposed upload exceeds the maximum allowed size",
                        extra={
                            "ProposedSize": str(await self._drain(seen)),
                            "MaxSizeAllowed": str(maximum),
                        },
                    )
                yield chunk
        except (ValueError, AssertionError):
            raise _malformed() from None
        if seen < self._size.minimum:
            raise S3Error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                extra={"ProposedSize": str(seen), "MinSizeAllowed": str(self._size.minimum)},
            )


def _location(ctx: S3Context) -> str:
    """The object's URL (its key percent-encoded whole, ``/`` too, as AWS writes it)."""
    host = ctx.headers.get("host") or ctx.request.host
    key = quote(ctx.key, safe="")
    if ctx.s3.virtual_host:
        return f"{ctx.request.scheme}://{host}/{key}"
    return f"{ctx.request.scheme}://{host}/{ctx.bucket_name}/{key}"


def _redirect(target: str, bucket: str, key: str, etag: str) -> str | None:
    """``target`` with bucket, key and etag added to its query; None if it is no URL."""
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None  # AWS: a URL it cannot interpret is as no redirect at all
    query = urlencode([("bucket", bucket), ("key", key), ("etag", f'"{etag}"')])
    joiner = "&" if parts.query else ("" if target.endswith("?") else "?")
    return f"{target}{joiner}{query}"


async def handle_post_object(ctx: S3Context) -> web.StreamResponse:
    form: Form = ctx.extra[_FORM]
    assert form.file is not None
    ctx.body = RequestBody(_FileBody(form.file, ctx.extra[_SIZE]), ctx.headers, None, None)
    md = meta.metadata_for_put(ctx)
    result, md = await writes.put_from_request(ctx, md)
    values = form.values()
    location = _location(ctx)
    headers = {"ETag": etag_header(result.etag), "Location": location}
    headers.update(writes.result_headers(ctx, md))
    target = values.get("success_action_redirect") or values.get("redirect")
    if target and (url := _redirect(target, ctx.bucket_name, ctx.key, result.etag)):
        return web.Response(status=303, headers={**headers, "Location": url})
    status = values.get("success_action_status", "").strip()
    if status == "201":
        body = {
            "Location": location,
            "Bucket": ctx.bucket_name,
            "Key": ctx.key,
            "ETag": etag_header(result.etag),
        }
        return web.Response(
            status=201,
            body=xmlio.to_xml("PostResponse", body, namespace=False),
            headers=headers,
            content_type="application/xml",
        )
    return web.Response(status=200 if status == "200" else 204, headers=headers)
