"""Nova's microversions: which 2.x a request asked for, and saying which one answered.

A request names its version in ``OpenStack-API-Version: compute 2.x`` (or the
older ``X-OpenStack-Nova-API-Version: 2.x``); ``latest`` means :data:`MAX`,
no header means :data:`MIN`. A version outside ``MIN..MAX`` gets Nova's 406,
a malformed one 400. Every answer names the version it was given in both
headers, so clients that negotiate see what they got.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from compute_glue.errors import ApiError, BadRequest

Version = tuple[int, int]
MIN: Version = (2, 1)
# The highest microversion whose request and response shapes this compute follows:
# 2.79 adds delete_on_termination to volume attachments; 2.89's attachment shape is not done.
MAX: Version = (2, 79)
VERSION: web.RequestKey[Version] = web.RequestKey("microversion", tuple)
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
_NUMBER = re.compile(r"^(\d{1,4})\.(\d{1,4})$")


class NotAcceptable(ApiError):
    status, kind = 406, "computeFault"


def text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def _asked(request: web.Request) -> str | None:
    """The version named for ``compute`` in the headers (the new header wins)."""
    for raw in request.headers.getall(HEADER, []):
        for item in raw.split(","):
            words = item.split()
            if len(words) == 2 and words[0].lower() == "compute":
                return words[1]
    legacy = request.headers.get(LEGACY_HEADER)
    return legacy.strip() if legacy is not None else None


def parse(request: web.Request) -> Version:
    """The version a request gets; raises 400 (malformed) or 406 (not served)."""
    asked = _asked(request)
    if asked is None:
        return MIN
    if asked.lower() == "latest":
        return MAX
    m = _NUMBER.match(asked)
    if m is None:
        raise BadRequest(
            f"Invalid API version request string {asked[:32]!r}: use 2.N or latest.",
            kind="badRequest",
        )
    version = (int(m.group(1)), int(m.group(2)))
    if not MIN <= version <= MAX:
        raise NotAcceptable(
            f"Version {text(version)} is not supported by the API. "
            f"Minimum is {text(MIN)} and maximum is {text(MAX)}."
        )
    return version


def middleware() -> Any:
    """Negotiate before the handler runs; name the version on every answer, errors too."""

    @web.middleware
    async def negotiate(request: web.Request, handler: Any) -> web.StreamResponse:
        request[VERSION] = MIN  # an unusable version is refused in the base version
        request[VERSION] = parse(request)
        return await handler(request)

    return negotiate


def stamp(request: web.Request, resp: web.StreamResponse) -> None:
    """Nova's version headers on a response: the version it was answered in."""
    if resp.prepared:
        return
    version = request.get(VERSION, MIN)
    resp.headers[HEADER] = f"compute {text(version)}"
    resp.headers[LEGACY_HEADER] = text(version)
    resp.headers["Vary"] = f"{HEADER}, {LEGACY_HEADER}"


def stamping() -> Any:
    """The outermost middleware: stamps whatever came back (an error body included)."""

    @web.middleware
    async def add_headers(request: web.Request, handler: Any) -> web.StreamResponse:
        resp = await handler(request)
        stamp(request, resp)
        return resp

    return add_headers


def at_least(request: web.Request, major: int, minor: int) -> bool:
    return request.get(VERSION, MIN) >= (major, minor)
