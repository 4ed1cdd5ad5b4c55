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
MIN_CHUNK = 8192  # every chunk but the last (AWS: InvalidChunkSizeError)
MAX_LINE = 4096
MAX_TRAILERS = 16
_SIZE = re.compile(rb"^[0-9a-fA-F]{1,8}$")
SIGNATURE_PARAM = "chunk-signature"
TRAILER_SIGNATURE = "x-amz-trailer-signature"


def incomplete_body(expected: int, provided: int) -> S3Error:
    """IncompleteBody naming both lengths: the body was not the size its length header said."""
    return S3Error(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
        extra={"NumberBytesExpected": str(expected), "NumberBytesProvided": str(provided)},
    )


class ByteReader(Protocol):
    """What the decoder needs of a request body (aiohttp's StreamReader fits)."""

    async def readline(self) -> bytes: ...

    async def readexactly(self, n: int) -> bytes: ...


class AwsChunkedDecoder:
    """Iterate over the decoded payload; ``trailers`` is filled at the end.

    The framing is judged as AWS judges it: a line not ending in CRLF, a
    missing or blank chunk signature, a chunk past the decoded length, or a
    stream cut short is IncompleteBody; a chunk signature or trailer signature
    that does not verify is SignatureDoesNotMatch; a trailer that was not
    announced (``x-amz-trailer``) or an announced one that never came is
    MalformedTrailerError.
    """

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
        self._previous = auth.signature if auth is not None else ""
        self._decoded_length = decoded_length
        self.trailers: dict[str, str] = {}
        self._expected: set[str] = set()
        declared = trailer_name(trailer)
        if declared is not None:
            self._expected.add(declared)
        if mode == sigv4.STREAMING_SIGNED_TRAILER:
            self._expected.add(TRAILER_SIGNATURE)
        self.received = 0

    async def _line(self) -> bytes:
        """One CRLF-ended line; b"" at the end of the body."""
        try:
            line = await self._reader.readline()
        except ValueError:  # line longer than the reader allows
            raise S3Error("IncompleteBody") from None
        if len(line) > MAX_LINE or (line and not line.endswith(b"\r\n")):
            raise S3Error("IncompleteBody")
        return line

    async def _exactly(self, n: int) -> bytes:
        try:
            return await self._reader.readexactly(n)
        except Exception:  # IncompleteReadError, or the connection closed
            raise S3Error("IncompleteBody") from None  # ended inside a chunk

    def _mismatch(self, sts: str, given: str) -> S3Error:
        assert self._auth is not None
        return sigv4.signature_mismatch(self._auth.access_key, sts, given, self._auth.canonical)

    def _chunk_signature(self, params: bytes) -> str:
        """The signature a signed chunk's header carries (AWS's parse: one parameter)."""
        if not params:
            raise S3Error("IncompleteBody")  # a signed stream chunk without its signature
        key, _, value = params.decode("latin-1").partition("=")
        if key.strip() != SIGNATURE_PARAM:  # (AWS answers as for a wrong signature)
            assert self._auth is not None
            raise self._mismatch(sigv4.chunk_string_to_sign(self._auth, self._previous, ""), "")
        if ";" in value or not value.strip():
            raise S3Error("IncompleteBody")
        return value.strip()

    def _check_chunk_signature(self, given: str, data: bytes) -> None:
        assert self._auth is not None
        sts = sigv4.chunk_string_to_sign(
            self._auth, self._previous, hashlib.sha256(data).hexdigest()
        )
        expected = sigv4.sign(self._auth.signing_key, sts)
        if not hmac.compare_digest(expected.encode(), given.lower().encode(errors="replace")):
            raise self._mismatch(sts, given)
        self._previous = expected

    async def __aiter__(self) -> AsyncIterator[bytes]:
        number = 0
        last: int | None = None
        while True:
            header = await self._line()
            number += 1
            text, _, params = header[:-2].partition(b";")
            text = text.strip(b" \t")
            if not _SIZE.match(text):
                raise S3Error("IncompleteBody")  # not a chunk header (or the body ended)
            size = int(text, 16)
            if size > MAX_CHUNK:
                raise S3Error("InvalidRequest", "aws-chunked chunk too large")
            if last is not None and last < MIN_CHUNK and size != 0:
                raise S3Error(
                    "InvalidChunkSizeError", extra={"Chunk": str(number), "BadChunkSize": str(last)}
                )
            last = size
            if self._decoded_length is not None and self.received + size > self._decoded_length:
                raise self._wrong_length(self.received + size)
            signature = self._chunk_signature(params) if self._signed else None
            data = await self._exactly(size) if size else b""
            if signature is not None:
                self._check_chunk_signature(signature, data)
            if size == 0:
                break
            if await self._exactly(2) != b"\r\n":
                raise S3Error("IncompleteBody")  # no CRLF after the chunk
            self.received += size
            yield data
        await self._read_trailers()
        if self._decoded_length is not None and self.received != self._decoded_length:
            raise self._wrong_length(self.received)

    def _wrong_length(self, provided: int) -> S3Error:
        """More or fewer bytes than x-amz-decoded-content-length promised."""
        return incomplete_body(self._decoded_length or 0, provided)

    async def _read_trailers(self) -> None:
        if not self._expected:  # nothing announced: at most the closing blank line
            if await self._line() not in (b"", b"\r\n"):
                raise S3Error("IncompleteBody")
            return
        signature: str | None = None
        for _ in range(MAX_TRAILERS + 1):
            line = await self._line()
            if line in (b"", b"\r\n"):
                break
            key, _, raw = line[:-2].decode("latin-1").partition(":")
            name, value = key.strip().lower(), raw.strip()
            if name not in self._expected:
                raise S3Error("MalformedTrailerError")  # not announced by x-amz-trailer
            if name == TRAILER_SIGNATURE:
                signature = value
            else:
                self.trailers[name] = value  # a repeated trailer: the last one counts (AWS)
        else:
            raise S3Error("MalformedTrailerError")  # too many lines
        if TRAILER_SIGNATURE in self._expected and signature is None:
            raise S3Error("IncompleteBody")
        if set(self.trailers) | ({TRAILER_SIGNATURE} if signature else set()) != self._expected:
            raise S3Error("MalformedTrailerError")  # an announced trailer never came
        if signature is not None:
            self._check_trailer_signature(signature)
            if not self.trailers:
                raise S3Error("IncompleteBody")  # a signed trailer that carries nothing

    def _check_trailer_signature(self, given: str) -> None:
        assert self._auth is not None
        canonical = "".join(f"{k}:{v}\n" for k, v in sorted(self.trailers.items()))
        sts = sigv4.trailer_string_to_sign(
            self._auth, self._previous, canonical.encode("latin-1") or b"\n"
        )
        expected = sigv4.sign(self._auth.signing_key, sts)
        if not hmac.compare_digest(expected.encode(), given.lower().encode(errors="replace")):
            raise self._mismatch(sts, given)
