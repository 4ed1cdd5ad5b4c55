"""Long-running answers as Swift's bulk gives them: 200 at once, whitespace, then the result.

Swift's bulk operations (and SLO's ``heartbeat=on``) cannot know their
outcome when the answer starts, and must not let the client time out: the
status line is always ``200 OK``, the body starts with a space (or, for
XML, the XML declaration) now and then while the work runs, and ends with
the result document, whose ``Response Status`` says how it went. After a
heartbeat, ``\\r\\n\\r\\n`` separates the padding from the document.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from objectstore.proxy.swift.errors import HTML
from objectstore.proxy.swift.listing import best_match

ACCEPTABLE = ("text/plain", "application/json", "application/xml", "text/xml")
XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def out_type(accept: str | None) -> str | None:
    """The result's media type by the Accept header; None when none fits or it is
    unreadable (the work then reports 406 Not Acceptable in a plain document)."""
    try:
        return best_match(accept or "", ACCEPTABLE)
    except ValueError:
        return None


def render(
    media: str | None, data: Mapping[str, Any], errors: Sequence[tuple[str, str]], root: str
) -> bytes:
    """swift.common.request_helpers.get_heartbeat_response_body."""
    if media == "application/json":
        return json.dumps({**data, "Errors": [list(e) for e in errors]}).encode("ascii")
    if media is not None and media.endswith("/xml"):
        out = ["<", root, ">\n"]
        for key in sorted(data):
            tag = key.replace(" ", "_").lower()
            out += ["<", tag, ">", escape(str(data[key])), "</", tag, ">\n"]
        out.append("<errors>\n")
        for name, status in errors:
            out += ["<object><name>", escape(name), "</name><status>"]
            out += [escape(status), "</status></object>\n"]
        out += ["</errors>\n</", root, ">\n"]
        return "".join(out).encode("utf-8")
    lines = [f"{key}: {data[key]}\n" for key in sorted(data)]
    lines.append("Errors:\n")
    lines += [f"{name}, {status}\n" for name, status in errors]
    return "".join(lines).encode("utf-8")


class Heartbeat:
    """A started 200 answer that pads itself every ``every`` seconds until the result."""

    def __init__(self, response: web.StreamResponse, media: str | None, every: float) -> None:
        self.response = response
        self.every = every
        self.last = time.monotonic()
        self.pad = XML_DECL if media is not None and media.endswith("/xml") else b" "
        self.separator = b""

    @classmethod
    async def start(cls, request: web.Request, media: str | None, every: float) -> Heartbeat:
        """Send the 200 headers (Content-Type ``media``, swob's default when None)."""
        response = web.StreamResponse(status=200, headers={"Content-Type": media or HTML})
        response.enable_chunked_encoding()
        await response.prepare(request)
        return cls(response, media, every)

    async def beat(self) -> None:
        """Pad the body when ``every`` seconds have passed since the last pad."""
        if self.last + self.every < time.monotonic():
            self.last = time.monotonic()
            await self.response.write(self.pad)
            self.pad, self.separator = b" ", b"\r\n\r\n"

    async def finish(self, document: bytes) -> web.StreamResponse:
        await self.response.write(self.separator + document)
        await self.response.write_eof()
        return self.response
