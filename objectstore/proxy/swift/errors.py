"""Swift's error responses: statuses, reason phrases and bodies, in one place.

Handlers raise :class:`SwiftError`; the app's middleware turns it (and every
error of the proxy core, through :func:`from_core`) into the response Swift
would send: a short body when Swift gives one (``"Metadata name too long:
..."``), else the ``<html><h1>Title</h1><p>Explanation</p></html>`` page of
``swob``. Swift's own bodies are mostly ``text/plain``, but swob labels every
body it was not told the type of ``text/html; charset=UTF-8`` (``"Maximum
limit is 10000"``, ``"Bad URL"``...): ``content_type=HTML`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from objectstore.proxy.ranges import unsatisfied_range

# status -> (reason phrase, explanation), as Swift's swob has them.
REASONS: dict[int, tuple[str, str]] = {
    200: ("OK", ""),
    201: ("Created", ""),
    202: ("Accepted", "The request is accepted for processing."),
    204: ("No Content", ""),
    206: ("Partial Content", ""),
    301: ("Moved Permanently", "The resource has moved permanently."),
    304: ("Not Modified", ""),
    307: ("Temporary Redirect", "The resource has moved temporarily."),
    400: (
        "Bad Request",
        "The server could not comply with the request since it is either "
        "malformed or otherwise incorrect.",
    ),
    401: (
        "Unauthorized",
        "This server could not verify that you are authorized to access the "
        "document you requested.",
    ),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    406: (
        "Not Acceptable",
        "The resource is not available in a format acceptable to your browser.",
    ),
    408: (
        "Request Timeout",
        "The server has waited too long for the request to be sent by the client.",
    ),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    411: ("Length Required", "Content-Length header required."),
    412: ("Precondition Failed", "A precondition for this request was not met."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    414: ("Request URI Too Long", "The request URI was too long for this server."),
    416: ("Requested Range Not Satisfiable", "The Range requested is not available."),
    422: ("Unprocessable Entity", "Unable to process the contained instructions"),
    499: ("Client Disconnect", "The client was disconnected during request."),
    500: (
        "Internal Error",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
    501: ("Not Implemented", "The requested method is not implemented by this server."),
    502: ("Bad Gateway", "Bad gateway."),
    503: (
        "Service Unavailable",
        "The server is currently unavailable. Please try again at a later time.",
    ),
    504: ("Gateway Timeout", "A timeout has occurred speaking to a backend server."),
    507: ("Insufficient Storage", "There was not enough space to save the resource."),
}

HTML = "text/html; charset=UTF-8"
PLAIN = "text/plain"  # swob labels text/plain bodies without a charset


def html_body(status: int) -> bytes:
    """swob's default page for ``status`` (empty when Swift sends none)."""
    title, explanation = REASONS.get(status, ("Unknown", ""))
    if not explanation:
        return b""
    return f"<html><h1>{title}</h1><p>{explanation}</p></html>".encode()


def reason(status: int) -> str:
    return REASONS.get(status, ("Unknown", ""))[0]


class SwiftError(Exception):
    """An error answer: ``status`` with Swift's body (``body=None``: the html page)."""

    def __init__(
        self,
        status: int,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = PLAIN,
    ) -> None:
        super().__init__(body or reason(status))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type

    def response(self) -> web.Response:
        return status_response(self.status, self.body, self.headers, self.content_type)


def status_response(
    status: int,
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
    content_type: str = PLAIN,
) -> web.Response:
    """The response Swift sends for ``status`` (errors, and 202 too).

    ``body`` None: swob's html page; else ``body`` labelled ``content_type``.
    """
    hdrs = dict(headers or {})
    if body is None:
        payload = html_body(status)
        ctype = HTML
    else:
        payload = body.encode("utf-8")
        ctype = content_type
    hdrs.setdefault("Content-Type", ctype)
    return web.Response(status=status, reason=reason(status), body=payload, headers=hdrs)


def from_core(exc: Exception) -> SwiftError | None:
    """Map an error of the proxy core to Swift's answer (None: not a core error)."""
    from objectstore.proxy import errors as core
    from objectstore.proxy import manifest

    if not isinstance(exc, core.ProxyError):
        return None
    if isinstance(exc, manifest.SegmentError):  # a large object's segment is gone or changed
        return SwiftError(409)
    if isinstance(exc, core.RangeNotSatisfiable):
        return SwiftError(416, headers={"Content-Range": unsatisfied_range(exc.size)})
    if isinstance(exc, core.InvalidInput):
        return SwiftError(400, exc.message or None)
    if isinstance(exc, core.EntityTooLarge):
        return SwiftError(413, "Your request is too large.")
    if isinstance(exc, core.ClientDisconnected):
        return SwiftError(499)
    if isinstance(exc, core.ClientTimeout):
        return SwiftError(408)
    return SwiftError(exc.status)


error_response = status_response
