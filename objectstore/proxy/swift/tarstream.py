"""A tar archive read as it arrives: Python's tarfile in stream mode, off the event loop.

``extract-archive`` must never hold an archive (nor a member) in memory:
tarfile reads the request body through a blocking file object whose reads
hop back to the event loop for the next bytes, and every tarfile step runs
in a worker thread (the steps are strictly one after another, so tarfile
never sees two threads at once). A member's data is handed on in chunks as
it is read, to become an object's body.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import AsyncIterable, AsyncIterator
from typing import Literal

CHUNK = 64 * 1024
Compression = Literal["", "gz", "bz2"]
Mode = Literal["r|", "r|gz", "r|bz2"]
_MODES: dict[Compression, Mode] = {"": "r|", "gz": "r|gz", "bz2": "r|bz2"}


class BodyReader:
    """``read(n)`` over a body that arrives in chunks of any size: n bytes, fewer at the end."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks.__aiter__()
        self._buffer = b""
        self._done = False

    async def read(self, n: int) -> bytes:
        while len(self._buffer) < n and not self._done:
            try:
                self._buffer += await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data


class _BlockingBody:
    """The file object tarfile reads, from a worker thread: each read awaits the loop.

    Stream mode only reads forward; the rest of the file protocol is refused.
    """

    def __init__(self, body: BodyReader, loop: asyncio.AbstractEventLoop) -> None:
        self._body = body
        self._loop = loop
        self._offset = 0

    def read(self, size: int, /) -> bytes:
        n = size if size >= 0 else CHUNK
        data = asyncio.run_coroutine_threadsafe(self._body.read(n), self._loop).result()
        self._offset += len(data)
        return data

    def write(self, b: bytes, /) -> object:
        raise io.UnsupportedOperation("write")

    def tell(self) -> int:
        return self._offset

    def seek(self, pos: int, /) -> object:
        raise io.UnsupportedOperation("seek")

    def close(self) -> object:
        return None


class Archive:
    """The members of a tar (``compression``: "", "gz" or "bz2") streamed from ``body``.

    tarfile's own errors (tarfile.TarError, zlib.error...) come out of
    :meth:`open`, :meth:`next` and member reads, as they do in Swift.
    """

    def __init__(self, body: AsyncIterable[bytes], compression: Compression) -> None:
        self._body = BodyReader(body)
        self._mode: Mode = _MODES[compression]
        self._tar: tarfile.TarFile | None = None

    async def open(self) -> None:
        source = _BlockingBody(self._body, asyncio.get_running_loop())
        mode = self._mode

        def start() -> tarfile.TarFile:
            return tarfile.open(fileobj=source, mode=mode)

        self._tar = await asyncio.to_thread(start)

    async def next(self) -> tarfile.TarInfo | None:
        """The next member (its data not yet read), None at the end."""
        assert self._tar is not None
        return await asyncio.to_thread(self._tar.next)

    async def data(self, member: tarfile.TarInfo) -> AsyncIterator[bytes]:
        """The current member's bytes, chunk by chunk."""
        assert self._tar is not None
        reader = await asyncio.to_thread(self._tar.extractfile, member)
        if reader is None:
            return
        while chunk := await asyncio.to_thread(reader.read, CHUNK):
            yield chunk
