"""Decoding ``aws-chunked`` request bodies, verifying chunk and trailer signatures.

Three streaming modes exist: signed chunks (each chunk signature chains from
the previous one, starting at the request's seed signature), signed chunks
with signed trailers, and unsigned chunks with trailers. The decoder yields
the payload bytes as they arrive and never buffers more than one chunk.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from typing import Protocol

from s3compat import sigv4
from s3compat.checksums import trailer_name
from s3compat.errors import S3Error

MAX_CHUNK = 16 * 1024 * 1024
MAX_LINE = 4096
MAX_TRAILERS = 16
_CHUNK_HEADER = re.compile(  # AWS lets blanks sit around ';' and '='
    rb"^([0-9a-fA-F]{1,8})[ \t]*(?:;[ \t]*chunk-signature[ \t]*=[ \t]*([0-9a-f]{64}))?[ \t]*\r\n$"
)
_TRAILER = re.compile(rb"^([A-Za-z0-9-]{1,128}):(.{0,1024})\r\n$")


class ByteReader(Protocol):
    """What the decoder needs of a request body (aiohttp's StreamReader fits)."""

    async def readline(self) -> bytes: ...

    async def readexactly(self, n: int) -> bytes: ...


class AwsChunkedDecoder:
    """Iterate over the decoded payload; ``trailers`` is filled at the end."""

    def __init__(
        self,
        reader: ByteReader,
        auth: sigv4.SigV4Auth | None,
        mode: str,
        decoded_length: int | None,
        *,
        trailer: str | None = None,
    ) -> None:
        if mode not in sigv4.STREAMING_MODES:
            raise ValueError(f"not a streaming mode: {mode}")
        if mode != sigv4.STREAMING_UNSIGNED_TRAILER and auth is None:
            raise ValueError("signed streaming needs the request's SigV4 auth")
        self._reader = reader
        self._auth = auth
        self._signed = mode != sigv4.STREAMING_UNSIGNED_TRAILER
        self._has_trailer = mode != sigv4.STREAMING_SIGNED
        self._previous = auth.signature if auth is not None else ""
        self._decoded_length = decoded_length
        self.trailers: dict[str, str] = {}
        self._declared = trailer_name(trailer)
        self.received = 0

    async def _line(self, *, eof_ok: bool = False) -> bytes:
        try:
            line = await self._reader.readline()
        except ValueError:  # line longer than the reader allows
            raise S3Error("IncompleteBody", "aws-chunked line too long") from None
        if len(line) > MAX_LINE:
            raise S3Error("IncompleteBody", "aws-chunked line too long")
        if not line and eof_ok:
            return b"\r\n"  # the body ended where a blank line was due: as good as one
        if not line.endswith(b"\n"):
            raise S3Error("IncompleteBody")  # ended before the last chunk
        return line

    async def _exactly(self, n: int) -> bytes:
        try:
            return await self._reader.readexactly(n)
        except Exception:  # IncompleteReadError, or the connection closed
            raise S3Error("IncompleteBody") from None  # ended inside a chunk

    def _check_chunk_signature(self, given: bytes | None, data: bytes) -> None:
        if not self._signed:
            if given is not None:
                raise S3Error("InvalidRequest", "Unsigned payload with a chunk signature")
            return
        if given is None:
            raise S3Error("IncompleteBody")  # a signed stream chunk without its signature
        assert self._auth is not None
        sts = sigv4.chunk_string_to_sign(
            self._auth, self._previous, hashlib.sha256(data).hexdigest()
        )
        expected = sigv4.sign(self._auth.signing_key, sts)
        if not hmac.compare_digest(expected.encode(), given):
            raise S3Error("SignatureDoesNotMatch")  # a chunk signature
        self._previous = expected

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            header = await self._line()
            m = _CHUNK_HEADER.match(header)
            if m is None:
                raise S3Error("IncompleteBody")  # not a chunk header
            size = int(m.group(1), 16)
            if size > MAX_CHUNK:
                raise S3Error("InvalidRequest", "aws-chunked chunk too large")
            data = await self._exactly(size) if size else b""
            self._check_chunk_signature(m.group(2), data)
            if size == 0:
                break
            if await self._exactly(2) != b"\r\n":
                raise S3Error("IncompleteBody")  # no CRLF after the chunk
            self.received += size
            if self._decoded_length is not None and self.received > self._decoded_length:
                raise self._wrong_length()
            yield data
        await self._read_trailers()
        if self._decoded_length is not None and self.received != self._decoded_length:
            raise self._wrong_length()

    def _wrong_length(self) -> S3Error:
        """More or fewer bytes than x-amz-decoded-content-length promised."""
        return S3Error(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            extra={
                "NumberBytesExpected": str(self._decoded_length),
                "NumberBytesProvided": str(self.received),
            },
        )

    async def _read_trailers(self) -> None:
        lines: list[bytes] = []
        signature: bytes | None = None
        while True:
            line = await self._line(eof_ok=True)
            if line == b"\r\n":
                break
            if len(lines) >= MAX_TRAILERS:
                raise S3Error("InvalidRequest", "Too many trailing headers")
            m = _TRAILER.match(line)
            if m is None:
                raise S3Error("MalformedTrailerError")
            name = m.group(1).decode().lower()
            if name == "x-amz-trailer-signature":
                signature = m.group(2).strip()
                continue
            value = m.group(2).decode("latin-1").strip()
            if self._declared is not None and name != self._declared:
                raise S3Error("MalformedTrailerError")  # not the trailer x-amz-trailer named
            self.trailers[name] = value
            lines.append(f"{name}:{value}\n".encode())
        if self.trailers and not self._has_trailer:
            raise S3Error("InvalidRequest", "Trailing headers in a mode without trailers")
        if self._signed and self._has_trailer:
            assert self._auth is not None
            if signature is None:
                raise S3Error("SignatureDoesNotMatch", "Trailer signature missing")
            sts = sigv4.trailer_string_to_sign(self._auth, self._previous, b"".join(lines))
            expected = sigv4.sign(self._auth.signing_key, sts)
            if not hmac.compare_digest(expected.encode(), signature):
                raise S3Error("SignatureDoesNotMatch")  # the trailer signature
