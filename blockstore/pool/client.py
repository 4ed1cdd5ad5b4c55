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
from typing import Any
from urllib.parse import quote, urlsplit

from blockstore.manager.errors import BackendError
from blockstore.manager.placement import Copied
from blockstore.pool.server import CHUNK, TOKEN_HEADER


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
        headers = {TOKEN_HEADER: self._secret, "Content-Type": "application/json"}
        conn = self._conn(timeout)
        try:
            conn.request(method, path, data, headers)
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as exc:
            raise BackendError(f"backend {self.name} unreachable: {exc}") from None
        finally:
            conn.close()
        if resp.status == 404 and missing_ok:
            return None
        if resp.status != 200:
            text = raw.decode(errors="replace")[:300]
            raise BackendError(f"backend {self.name}: {method} {path}: {resp.status} {text}")
        out = json.loads(raw)
        if not isinstance(out, dict):
            raise BackendError(f"backend {self.name}: {method} {path}: not a JSON object")
        return out

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
        src, dst = self._conn(None), dest._conn(None)
        h = hashlib.sha256()
        try:
            src.request("GET", f"/volumes/{vid}/data", headers={TOKEN_HEADER: self._secret})
            resp = src.getresponse()
            if resp.status != 200:
                raise BackendError(f"backend {self.name}: read {volume_id}: {resp.status}")
            size = int(resp.headers.get("X-Volume-Size", "-1"))
            dst.putrequest("PUT", f"/volumes/{vid}/data?size={size}&thick={int(thick)}")
            dst.putheader(TOKEN_HEADER, dest._secret)
            dst.putheader("Transfer-Encoding", "chunked")
            dst.endheaders()
            sent = 0
            while chunk := resp.read1(CHUNK):
                h.update(chunk)
                dst.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            dst.send(b"0\r\n\r\n")
            answer = dst.getresponse()
            raw = answer.read()
            if answer.status != 200:
                text = raw.decode(errors="replace")[:200]
                raise BackendError(
                    f"backend {dest.name}: write {volume_id}: {answer.status} {text}"
                )
        except OSError as exc:
            raise BackendError(f"copy of {volume_id} to {dest.name} broke: {exc}") from None
        finally:
            src.close()
            dst.close()
        wrote = json.loads(raw)
        held = self.must("GET", f"/volumes/{vid}/checksum")["sha256"]
        if wrote.get("stream_sha256") != h.hexdigest() or wrote.get("sha256") != held:
            dest.call("DELETE", f"/volumes/{vid}")
            raise BackendError(
                f"copy of {volume_id} to {dest.name} does not match: source {held}, "
                f"destination {wrote.get('sha256')}"
            )
        return Copied(size=size, seconds=time.monotonic() - started, sha256=held, sent=sent)
