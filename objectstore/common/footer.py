"""Object footers: metadata sent after a streamed body, committed with the object.

Some metadata is known only once the last byte has passed (S3's trailing
checksum). As Swift's footers carry the ETag, the sender then appends it to
the body it is streaming, and the node stores body and footer in the one
commit of the object: there is no moment when the object exists without it,
and no second request.

On the wire: the request carries ``X-Backend-Obj-Footer: 1`` and, when the
object's size is known, ``X-Backend-Obj-Content-Length`` (the HTTP body is
then chunked: the footer's size is not known in advance). The body is the
object's bytes, then the footer (a msgpack map of ``str -> str`` metadata
entries), then the footer's size as 8 lower-case hex digits. The node holds
back the last ``HOLD`` bytes while it receives (:class:`Splitter`), so it
never writes footer bytes into the object.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping

import msgpack

from objectstore.common.wire import InvalidName

HEADER = "X-Backend-Obj-Footer"  # "1": the body ends with a footer
OBJECT_LENGTH = "X-Backend-Obj-Content-Length"  # the object's own size, without the footer
MAX_SIZE = 16 * 1024  # metadata is bounded at 8 KiB in all (wire.MAX_META_OVERALL)
_DIGITS = 8
HOLD = MAX_SIZE + _DIGITS  # a receiver never passes on the last HOLD bytes before the end
_SIZE_RE = re.compile(rb"[0-9a-f]{%d}" % _DIGITS)


def encode(metadata: Mapping[str, str]) -> bytes:
    """What follows the object's bytes: the footer and its size."""
    doc = msgpack.packb(dict(metadata))
    if len(doc) > MAX_SIZE:
        raise ValueError(f"footer larger than {MAX_SIZE} bytes")
    return doc + b"%08x" % len(doc)


class Splitter:
    """Passes on a streamed body's bytes, keeping back its tail, where the footer is."""

    def __init__(self) -> None:
        self._held: deque[bytes] = deque()
        self._size = 0
        self.metadata: dict[str, str] = {}  # the footer's, once :meth:`finish` has read it

    def feed(self, chunk: bytes) -> list[bytes]:
        """The chunks now known to be object bytes (whole chunks, in order)."""
        self._held.append(chunk)
        self._size += len(chunk)
        out = []
        while self._size - len(self._held[0]) >= HOLD:
            first = self._held.popleft()
            self._size -= len(first)
            out.append(first)
        return out

    def finish(self) -> bytes:
        """At the end of the body: its last object bytes; the footer goes to ``metadata``.

        InvalidName when the tail is no footer (the sender broke the framing).
        """
        tail = b"".join(self._held)
        self._held.clear()
        size_at = len(tail) - _DIGITS
        if size_at < 0 or not _SIZE_RE.fullmatch(tail, size_at):
            raise InvalidName("the body does not end with a footer")
        start = size_at - int(tail[size_at:], 16)
        if start < 0:
            raise InvalidName("footer longer than the body")
        try:
            value = msgpack.unpackb(tail[start:size_at])
        except Exception:
            raise InvalidName("footer is not decodable") from None
        if not isinstance(value, dict):
            raise InvalidName("footer does not hold a map")
        self.metadata = value
        return tail[:start]


def object_length(headers: Mapping[str, str]) -> int | None:
    """The object's size a footed request announces (None: read to the end)."""
    value = headers.get(OBJECT_LENGTH)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 15:
        raise InvalidName(f"bad {OBJECT_LENGTH} {value!r}")
    return int(value)
