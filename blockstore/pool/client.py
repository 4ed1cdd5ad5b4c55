"""The volume API's client of one backend process (its internal API, ``server.py``).

Blocking (``http.client``): the volume services call backends from worker threads, as
they call the in-process file backend. Errors become :class:`BackendError`; a backend
that does not answer within ``timeout`` is an error too (the pool's heartbeat decides
when it is down).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from blockstore.backend.volumeio import range_digest
from blockstore.manager.errors import BackendError
from blockstore.manager.placement import Copied
from blockstore.pool import wire
from blockstore.pool.wire import CHUNK, TOKEN_HEADER, sha256_file

MAX_ANSWER = 16 * 1024 * 1024  # a JSON answer's bytes


class BackendClient:
    """One backend process at ``url`` (``http://host:port``)."""

    def __init__(self, name: str, url: str, secret: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise BackendError(f"backend {name}: expected an http://HOST:PORT URL, not {url!r}")
        self.name = name
        self.address = (parts.hostname, parts.port or 80)
        self._secret = secret
        self.timeout = timeout

    def _conn(self, timeout: float | None) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(*self.address, timeout=timeout or self.timeout)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        """One JSON request; None for a 404 when ``missing_ok``."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        status, _, raw = self.exchange(
            method, path, data, headers, limit=MAX_ANSWER, timeout=timeout, ok=(200, 404)
        )
        if status == 404:
            if missing_ok:
                return None
            raise BackendError(f"backend {self.name}: {method} {path}: 404 {raw[:300]!r}")
        out = json.loads(raw)
        if not isinstance(out, dict):
            raise BackendError(f"backend {self.name}: {method} {path}: not a JSON object")
        return out

    def exchange(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        limit: int,
        timeout: float | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request with the secret; (status, headers, body of at most ``limit`` bytes).
        A status outside ``ok`` is a BackendError naming it."""
        conn = self._conn(timeout)
        try:
            conn.request(method, path, body, {TOKEN_HEADER: self._secret, **(headers or {})})
            resp = conn.getresponse()
            raw = resp.read(limit + 1)
        except OSError as exc:
            raise BackendError(f"backend {self.name} unreachable: {exc}") from None
        finally:
            conn.close()
        if resp.status not in ok:
            text = raw[:300].decode(errors="replace")
            raise BackendError(f"backend {self.name}: {method} {path}: {resp.status} {text}")
        if len(raw) > limit:
            raise BackendError(f"backend {self.name}: {method} {path}: over {limit} bytes")
        return resp.status, resp.headers, raw

    def must(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        out = self.call(method, path, body)
        assert out is not None
        return out

    # -- a migration's copy --------------------------------------------------------------

    def copy_volume_to(self, volume_id: str, dest: BackendClient, thick: bool) -> Copied:
        """Stream the volume's data extents to ``dest`` (holes stay holes). The stream's
        SHA-256 must be what ``dest`` received, and the SHA-256 of the whole file on
        ``dest`` what the source holds; else the copy is deleted and this fails."""
        started = time.monotonic()
        vid = quote(volume_id, safe="")
        src = self._conn(None)
        try:
            src.request("GET", f"/volumes/{vid}/data", headers={TOKEN_HEADER: self._secret})
            resp = src.getresponse()
            if resp.status != 200:
                raise BackendError(f"backend {self.name}: read {volume_id}: {resp.status}")
            size = int(resp.headers.get("X-Volume-Size", "-1"))
            sent, stream, wrote = dest.put_volume_data(
                volume_id, iter(lambda: resp.read1(CHUNK), b""), size, thick
            )
        except OSError as exc:
            raise BackendError(f"copy of {volume_id} to {dest.name} broke: {exc}") from None
        finally:
            src.close()
        held = self.must("GET", f"/volumes/{vid}/checksum")["sha256"]
        dest.check_copy(volume_id, stream, wrote, held)
        return Copied(size=size, seconds=time.monotonic() - started, sha256=held, sent=sent)

    def put_volume_file(self, volume_id: str, path: Path, size: int, thick: bool) -> Copied:
        """A new volume of ``size`` bytes from a file of this host (a volume filled from an
        image here): its data extents sent as a migration sends them, verified the same
        way (the stream's SHA-256, and the file's on both ends)."""
        started = time.monotonic()
        held = sha256_file(path)
        try:
            sent, stream, wrote = self.put_volume_data(volume_id, wire.frames(path), size, thick)
        except OSError as exc:
            raise BackendError(f"upload of {volume_id} to {self.name} broke: {exc}") from None
        self.check_copy(volume_id, stream, wrote, held)
        return Copied(size=size, seconds=time.monotonic() - started, sha256=held, sent=sent)

    def put_volume_data(
        self, volume_id: str, pieces: Iterable[bytes], size: int, thick: bool
    ) -> tuple[int, str, dict[str, Any]]:
        """``PUT /volumes/{id}/data`` with ``pieces`` (data-extent frames) as a chunked
        body: (bytes sent, their SHA-256, the backend's answer). Raises OSError."""
        vid = quote(volume_id, safe="")
        h = hashlib.sha256()
        dst = self._conn(None)
        try:
            dst.putrequest("PUT", f"/volumes/{vid}/data?size={size}&thick={int(thick)}")
            dst.putheader(TOKEN_HEADER, self._secret)
            dst.putheader("Transfer-Encoding", "chunked")
            dst.endheaders()
            sent = 0
            for chunk in pieces:
                h.update(chunk)
                dst.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            dst.send(b"0\r\n\r\n")
            answer = dst.getresponse()
            raw = answer.read(MAX_ANSWER)
        finally:
            dst.close()
        if answer.status != 200:
            text = raw.decode(errors="replace")[:200]
            raise BackendError(f"backend {self.name}: write {volume_id}: {answer.status} {text}")
        return sent, h.hexdigest(), json.loads(raw)

    def check_copy(self, volume_id: str, stream: str, wrote: dict[str, Any], held: str) -> None:
        """The copy this backend wrote counts if it received ``stream`` (the SHA-256 sent)
        and its file's SHA-256 is ``held`` (the source's); else it is deleted."""
        if wrote.get("stream_sha256") != stream or wrote.get("sha256") != held:
            self.call("DELETE", f"/volumes/{quote(volume_id, safe='')}")
            raise BackendError(
                f"copy of {volume_id} to {self.name} does not match: source {held}, "
                f"destination {wrote.get('sha256')}"
            )

    # -- ranges: a backup's reads and a restore's writes ---------------------------------------

    def data_map(self, kind: str, ident: str, size: int, chunk_size: int) -> set[int]:
        """Chunks of ``kind`` (volumes, snapshots) ``ident`` that hold data."""
        count = -(-size // chunk_size)
        path = f"/{kind}/{quote(ident, safe='')}/map?size={size}&chunk_size={chunk_size}"
        _, _, bits = self.exchange("GET", path, limit=-(-count // 8))
        if len(bits) != -(-count // 8):
            raise BackendError(f"backend {self.name}: a data map of {len(bits)} bytes")
        return wire.indexes(bits, count)

    def read_range(self, kind: str, ident: str, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes, checked against the digest the backend sent."""
        path = f"/{kind}/{quote(ident, safe='')}/range?offset={offset}&length={length}"
        _, headers, data = self.exchange("GET", path, limit=length)
        sent = headers.get(wire.DIGEST_HEADER, "")
        if len(data) != length or sent != range_digest(data).hex():
            raise BackendError(
                f"backend {self.name}: range {offset}+{length} of {ident} arrived damaged"
            )
        return data

    def write_range(self, volume_id: str, offset: int, data: bytes, digest: bytes) -> None:
        """``data`` at ``offset``; the backend writes it only if it matches ``digest``."""
        path = f"/volumes/{quote(volume_id, safe='')}/range?offset={offset}"
        headers = {wire.DIGEST_HEADER: digest.hex(), "Content-Type": "application/octet-stream"}
        self.exchange("PUT", path, data, headers, limit=MAX_ANSWER)

    def zero_range(self, volume_id: str, offset: int, length: int) -> None:
        path = f"/volumes/{quote(volume_id, safe='')}/zero?offset={offset}&length={length}"
        self.exchange("POST", path, limit=MAX_ANSWER)

    def flush_volume(self, volume_id: str) -> None:
        self.exchange("POST", f"/volumes/{quote(volume_id, safe='')}/flush", limit=MAX_ANSWER)
