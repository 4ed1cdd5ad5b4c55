"""FormPost: browser form uploads (``multipart/form-data`` POST), as Swift 2.38.

A page signs, with a TempURL key (``tempkeys``), the form's
``<path>\\n<redirect>\\n<max_file_size>\\n<max_file_count>\\n<expires>``;
the browser then POSTs the fields and files to ``/v1/<a>/<c>[/<prefix>]``
and each file becomes the object ``<prefix><filename>``, PUT through the
rest of the pipeline (quotas, versioning... apply) while it streams in.
Fields must come before the files they govern, as in Swift: the body is
read once, front to back, and never held whole.

The answer is the last upload's status (``201 Created``), or Swift's
messages: 400 ``max_file_size exceeded`` (the file is not stored), ``max
file count exceeded`` (the earlier files are), ``no files to process``,
``... not an integer``; 401 ``Invalid Signature`` / ``Form Expired``. With
a ``redirect`` field the browser is sent there instead (303), with
``status`` and ``message`` added to its query.

Beyond Swift: a part's headers, and the number of fields, are bounded
(400), and a field that is not UTF-8 is a 400 rather than a crash.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from objectstore.proxy import errors as core_errors
from objectstore.proxy.swift import auth, pipeline
from objectstore.proxy.swift.errors import HTML, SwiftError, from_core, reason
from objectstore.proxy.swift.middleware import formdata, tempkeys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from objectstore.proxy.swift.app import Ctx

MAX_VALUE_LENGTH = 4096  # a field's value beyond this is dropped, as Swift's
MAX_FIELDS = 256  # distinct field names kept (Swift has no bound)
FILE_CHUNK_SIZE = 65536
PLAIN = "text/plain"  # formpost's own answers: no charset, as Swift's
FORWARDED_HEADERS = ("Origin", "Referer", "User-Agent", "Access-Control-Request-Method")


def info() -> dict[str, Any]:
    """The /info section, as Swift 2.38's formpost registers it."""
    return tempkeys.digests_info()


class FormInvalid(Exception):
    """400 ``FormPost: <message>``."""


class FormUnauthorized(Exception):
    """401 ``FormPost: <Message Title-Cased>``."""


class FileTooLarge(Exception):
    """A file grew past ``max_file_size``: its upload is abandoned."""


class _CappedFile:
    """A file part as a PUT body, failing once it passes ``limit`` bytes (Swift's EOFError)."""

    def __init__(self, part: formdata.Part, limit: int) -> None:
        self.part = part
        self.limit = limit
        self.received = 0
        self.exceeded = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.part.read(FILE_CHUNK_SIZE):
            self.received += len(chunk)
            if self.received > self.limit:
                self.exceeded = True
                raise FileTooLarge("max_file_size exceeded")
            yield chunk


def _int(value: str | None, message: str) -> int:
    try:
        return int(value or 0)
    except ValueError:
        raise FormInvalid(message) from None


def _path(ctx: Ctx) -> str:
    return unquote(ctx.request.raw_path.partition("?")[0])


def _check_signature(path: str, attributes: dict[str, str], keys: list[tempkeys.Key]) -> None:
    """Swift's order: expiry first, then the HMAC over the form's fixed fields."""
    expires = attributes.get("expires")
    if _int(expires, "expired not an integer") < time.time():
        raise FormUnauthorized("form expired")
    message = "\n".join(
        (
            path,
            attributes.get("redirect") or "",
            attributes.get("max_file_size") or "0",
            attributes.get("max_file_count") or "0",
            expires or "0",
        )
    )
    try:
        algo, signature = tempkeys.parse_signature(attributes.get("signature", ""))
    except ValueError:
        raise FormUnauthorized("invalid signature") from None
    if algo not in tempkeys.ALLOWED_DIGESTS:
        raise FormUnauthorized("invalid signature")
    valid = False
    for key in keys:  # every key, whichever matches
        valid |= tempkeys.matches(signature, tempkeys.sign(key.secret, message, algo))
    if not valid:
        raise FormUnauthorized("invalid signature")


def _upload_headers(ctx: Ctx, attributes: dict[str, str]) -> CIMultiDict[str]:
    headers = CIMultiDict[str]({"Transfer-Encoding": "chunked"})
    for name in FORWARDED_HEADERS:
        if name in ctx.headers:
            headers[name] = ctx.headers[name]
    if "x_delete_at" in attributes:
        at = _int(attributes["x_delete_at"], "x_delete_at not an integer: Unix timestamp required.")
        headers["X-Delete-At"] = str(at)
    if "x_delete_after" in attributes:
        after = _int(
            attributes["x_delete_after"],
            "x_delete_after not an integer: Number of seconds required.",
        )
        headers["X-Delete-After"] = str(after)
    if "content-type" in attributes:
        headers["Content-Type"] = attributes["content-type"] or "application/octet-stream"
    if "content-encoding" in attributes:
        headers["Content-Encoding"] = attributes["content-encoding"]
    return headers


async def _upload(
    ctx: Ctx,
    next: pipeline.Next,
    attributes: dict[str, str],
    part: formdata.Part,
    keys: list[tempkeys.Key],
) -> tuple[int, list[tuple[str, str]], bytes]:
    """PUT one file through the rest of the pipeline: (status, headers, body)."""
    if not keys:
        raise FormUnauthorized("invalid signature")
    max_file_size = _int(attributes.get("max_file_size"), "max_file_size not an integer")
    headers = _upload_headers(ctx, attributes)
    _check_signature(_path(ctx), attributes, keys)
    assert ctx.container is not None
    # Swift's subrequest is pre-authorized: it may write anywhere in the account.
    ctx.environ[auth.SIGNED_SCOPE] = auth.SignedScope(ctx.account)
    body = _CappedFile(part, max_file_size)
    upload = replace(
        ctx,
        method="PUT",
        obj=(ctx.obj or "") + attributes["filename"],
        params={},
        principal=None,
        headers=CIMultiDictProxy(headers),
        body=body,
    )
    try:
        response = await next(upload)
    except SwiftError as exc:
        response = exc.response()
    except core_errors.ProxyError as exc:
        mapped = from_core(exc)
        assert mapped is not None
        response = mapped.response()
    if body.exceeded:
        raise FormInvalid("max_file_size exceeded")
    payload = response.body if isinstance(response, web.Response) else None
    data = payload if isinstance(payload, bytes) else b""
    return response.status, list(response.headers.items()), data


async def _field(part: formdata.Part) -> str:
    data = b""
    while len(data) < MAX_VALUE_LENGTH:
        chunk = await part.read(MAX_VALUE_LENGTH - len(data))
        if not chunk:
            break
        data += chunk
    await part.skip()
    try:
        return data.decode("utf-8").rstrip("\r\n-")
    except UnicodeDecodeError:
        raise FormInvalid("form field not valid UTF-8") from None


async def translate(ctx: Ctx, next: pipeline.Next, boundary: str) -> web.StreamResponse:
    """Read the form, upload its files in turn, answer as Swift's ``_translate_form``."""
    keys = await tempkeys.keys(ctx, ctx.account, ctx.container) if ctx.container else []
    reader = formdata.FormReader(ctx.request.content.read, boundary.encode("utf-8"))
    attributes: dict[str, str] = {}
    status, message = 0, ""
    sub_headers: list[tuple[str, str]] = []
    sub_body = b""
    file_count = 0
    async for part in reader.parts():
        headers = await part.headers()
        kind, attrs = formdata.parse_content_disposition(headers.get("content-disposition", ""))
        if kind == "form-data" and attrs.get("filename"):
            file_count += 1
            if file_count > _int(attributes.get("max_file_count"), "max_file_count not an integer"):
                status, message = 400, "max file count exceeded"
                break
            file_attributes = {**attributes, "filename": attrs["filename"]}
            for name in ("content-type", "content-encoding"):
                if name not in attributes and name in headers:
                    default = "application/octet-stream" if name == "content-type" else ""
                    file_attributes[name] = headers[name] or default
            status, sub_headers, sub_body = await _upload(ctx, next, file_attributes, part, keys)
            if not 200 <= status < 300:
                break
        else:
            value = await _field(part)
            if "name" in attrs:
                if len(attributes) >= MAX_FIELDS and attrs["name"].lower() not in attributes:
                    raise FormInvalid("too many form fields")
                attributes[attrs["name"].lower()] = value
    if not status:
        status, message = 400, "no files to process"
    return _answer(ctx, status, message, attributes.get("redirect"), sub_headers, sub_body)


def _answer(
    ctx: Ctx,
    status: int,
    message: str,
    redirect: str | None,
    sub_headers: list[tuple[str, str]],
    sub_body: bytes,
) -> web.Response:
    headers = CIMultiDict[str](
        (k, v) for k, v in sub_headers if k.lower().startswith("access-control")
    )
    if not redirect:
        text = f"{status} {reason(status)}"
        if message:
            text += "\r\nFormPost: " + message.title()
        body = sub_body if not 200 <= status < 300 and sub_body else text.encode("utf-8")
        headers["Content-Type"] = PLAIN
        return web.Response(status=status, reason=reason(status), body=body, headers=headers)
    if "\r" in redirect or "\n" in redirect:
        raise FormInvalid("redirect has a line break")
    location = f"{redirect}{'&' if '?' in redirect else '?'}"
    location += f"status={quote(str(status))}&message={quote(message)}"
    body = f'<html><body><p><a href="{location}">Click to continue...</a></p></body></html>'
    headers["Location"] = location
    ctx.on_prepare.append(_no_content_type)  # Swift's 303 has none
    return web.Response(status=303, reason="See Other", body=body.encode("utf-8"), headers=headers)


def _no_content_type(response: web.StreamResponse) -> None:
    if response.status == 303:
        response.headers.popall("Content-Type", None)


def _error(
    status: int, text: str, content_type: str, headers: dict[str, str] | None = None
) -> SwiftError:
    return SwiftError(status, text, headers, content_type=content_type)


async def handle(ctx: Ctx, next: pipeline.Next) -> web.StreamResponse:
    """Translate a ``multipart/form-data`` POST with a boundary; pass everything else on."""
    if ctx.method != "POST":
        return await next(ctx)
    kind, attrs = formdata.parse_content_disposition(ctx.headers.get("Content-Type") or "")
    if kind != "multipart/form-data" or "boundary" not in attrs:
        return await next(ctx)
    try:
        return await translate(ctx, next, attrs["boundary"])
    except formdata.MimeInvalid:
        raise _error(400, "FormPost: invalid starting boundary", PLAIN) from None
    except (FormInvalid, formdata.MimeHeadersTooLong) as exc:
        raise _error(400, f"FormPost: {exc}", PLAIN) from None
    except FormUnauthorized as exc:
        text = f"FormPost: {str(exc).title()}"
        raise _error(401, text, HTML, {"Www-Authenticate": tempkeys.REALM}) from None


FEATURE = pipeline.Feature("formpost", handle, info)
