"""Keep a request whose read also brought bytes that are no request.

aiohttp's server feeds each read from a connection to its HTTP parser. When
a complete request is followed, in the same read, by bytes that cannot
start the next one (a body sent without Content-Length, more body than
Content-Length said), the parser raises and aiohttp answers
``400 Invalid method encountered`` for the whole read: the request it had
already parsed is dropped. Whether that happens depends on how the bytes
were cut into packets, and a client gets 400 for a request that was fine
(AWS and Swift answer it: 411 for a missing length; the framed part is
read and answered). :class:`SalvagingParser` feeds such a read in two
pieces, cut after the first end of headers, so that a request parsed from
the first piece is kept and answered; the 400 for what follows comes after
it, and the connection closes.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web_protocol
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import EMPTY_PAYLOAD

_END = b"\r\n\r\n"


class SalvagingParser:
    """Wraps an aiohttp request parser (everything but ``feed_data`` is passed through)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def feed_data(self, data: bytes) -> tuple[list[Any], bool, bytes]:
        cut = data.find(_END) + len(_END)
        if cut < len(_END) or cut >= len(data):
            return self._inner.feed_data(data)
        first, upgraded, tail = self._inner.feed_data(data[:cut])
        if upgraded:
            return first, upgraded, tail + data[cut:]
        try:
            rest, upgraded, tail = self._inner.feed_data(data[cut:])
        except HttpProcessingError as exc:
            err_info = getattr(web_protocol, "_ErrInfo", None)  # private: absent, aiohttp's 400
            if not first or err_info is None:
                raise
            err = err_info(status=400, exc=exc, message=exc.message)
            return [*first, (err, EMPTY_PAYLOAD)], False, b""
        return [*first, *rest], upgraded, tail

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def salvaging(handler: Any) -> Any:
    """``handler`` (an aiohttp RequestHandler, new) with its parser wrapped."""
    parser = getattr(handler, "_parser", None)
    if parser is not None and not isinstance(parser, SalvagingParser):
        setattr(handler, "_parser", SalvagingParser(parser))  # noqa: B010 (a private slot)
    return handler
