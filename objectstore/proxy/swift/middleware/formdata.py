"""``multipart/form-data`` read as it arrives, part by part (for ``formpost``).

A browser's form upload is one request body holding every field and file;
the files may be large, so nothing is read whole: :class:`FormReader` keeps
a buffer of about one chunk plus the boundary, and each :class:`Part`
hands out its bytes up to the next boundary. The parsing follows Swift's
``iter_multipart_mime_documents``: blank lines before the opening boundary
are skipped, any other start is :class:`MimeInvalid`; a body that ends
without a closing boundary ends the last part. Part headers are bounded
(Swift's are not): a line over :data:`MAX_HEADER_LINE` bytes or more than
:data:`MAX_HEADER_LINES` lines is :class:`MimeHeadersTooLong`.
"""

from __future__ import annotations

import email.parser
import re
from collections.abc import AsyncIterator, Awaitable, Callable

READ_CHUNK_SIZE = 4096
SKIP_CHUNK_SIZE = 65536
MAX_HEADER_LINE = 8192
MAX_HEADER_LINES = 64
#: Swift's parse_content_disposition: ``name=value`` or ``name="value"`` items after ``;``.
ATTRIBUTES_RE = re.compile(r'(\w+)=(".*?"|[^";]+)(; ?|$)')

Read = Callable[[int], Awaitable[bytes]]


class MimeInvalid(ValueError):
    """The body does not start with the boundary."""


class MimeHeadersTooLong(ValueError):
    """A part's headers exceed the bounds."""


def parse_content_disposition(header: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="f"; filename="a.txt"`` -> ("form-data", {"name": "f", ...})."""
    attributes: dict[str, str] = {}
    rest = ""
    if ";" in header:
        header, rest = (x.strip() for x in header.split(";", 1))
    while match := ATTRIBUTES_RE.match(rest):
        rest = rest[len(match.group(0)) :]
        attributes[match.group(1)] = match.group(2).strip('"')
    return header, attributes


class FormReader:
    """The parts of one multipart body read from ``read(n)`` (b"" at its end)."""

    def __init__(self, read: Read, boundary: bytes, chunk_size: int = READ_CHUNK_SIZE) -> None:
        self._read = read
        self.delimiter = b"\r\n--" + boundary
        self.chunk_size = chunk_size
        self.buffer = b""
        self.ended = False  # the body has no more bytes
        self.last = False  # the closing boundary (or the body's end) was met

    async def fill(self, want: int) -> None:
        """Buffer at least ``want`` bytes, or all that is left of the body."""
        while len(self.buffer) < want and not self.ended:
            chunk = await self._read(max(want - len(self.buffer), self.chunk_size))
            if chunk:
                self.buffer += chunk
            else:
                self.ended = True

    async def _opening_line(self, limit: int) -> bytes:
        await self.fill(limit)
        end = self.buffer.find(b"\n", 0, limit)
        size = limit if end < 0 else end + 1
        line, self.buffer = self.buffer[:size], self.buffer[size:]
        return line

    async def parts(self) -> AsyncIterator[Part]:
        """Each part in turn; a part not read to its end is skipped."""
        opening = self.delimiter[2:]
        line = await self._opening_line(len(opening) + 2)
        while line == b"\r\n":
            line = await self._opening_line(len(opening) + 2)
        if line.strip() != opening:
            raise MimeInvalid("invalid starting boundary")
        while not self.last:
            part = Part(self)
            yield part
            await part.skip()


class Part:
    """One part: its headers (:meth:`headers`), then its bytes (:meth:`read`)."""

    def __init__(self, reader: FormReader) -> None:
        self._reader = reader
        self._pending = b""  # read past a header line, handed out first
        self.done = False

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of the part; b"" at its end."""
        if self._pending:
            out, self._pending = self._pending[:size], self._pending[size:]
            return out
        if self.done:
            return b""
        r = self._reader
        await r.fill(size + len(r.delimiter) + 2)  # and what follows a delimiter
        at = r.buffer.find(r.delimiter)
        if at == -1 or at > size:
            out, r.buffer = r.buffer[:size], r.buffer[size:]
            if not out:  # the body ended without a closing boundary
                self.done = r.last = True
            return out
        out, rest = r.buffer[:at], r.buffer[at + len(r.delimiter) :]
        self.done = True
        r.last = rest.startswith(b"--")
        r.buffer = rest[2:]
        return out

    async def skip(self) -> None:
        """Read past what is left of the part."""
        while await self.read(SKIP_CHUNK_SIZE):
            pass

    async def _line(self) -> bytes:
        line = b""
        while True:
            chunk = await self.read(self._reader.chunk_size)
            if not chunk:
                return line
            line += chunk
            end = line.find(b"\r\n")
            if end >= 0:
                self._pending = line[end + 2 :] + self._pending
                return line[: end + 2]
            if len(line) > MAX_HEADER_LINE:
                raise MimeHeadersTooLong("mime header line too long")

    async def headers(self) -> dict[str, str]:
        """The part's headers (lower-case names; a repeated one: the last)."""
        lines: list[str] = []
        while True:
            raw = await self._line()
            if len(raw) > MAX_HEADER_LINE or len(lines) >= MAX_HEADER_LINES:
                raise MimeHeadersTooLong("mime headers too long")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("latin-1")
            lines.append(line)
            if raw in (b"\r\n", b"\n", b""):
                break
        message = email.parser.Parser().parsestr("".join(lines))
        return {name.lower(): str(value) for name, value in message.items()}
