"""The plumbing the typed clients of the compute and network APIs share."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)


class ApiClientError(Exception):
    """An API refused a request: HTTP status, the fault's name and its message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status} {kind})")
        self.status = status
        self.kind = kind
        self.message = message


class JsonApi:
    """JSON over HTTP with an identity token, on one session."""

    def __init__(
        self, endpoint: str, token: str, *, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self._own = session is None
        self._session = session or aiohttp.ClientSession(timeout=TIMEOUT)

    async def close(self) -> None:
        if self._own:
            await self._session.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One call to ``<endpoint><path>``; the decoded JSON answer (None if empty)."""
        hdrs = {"X-Auth-Token": self.token, "Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        url = self.endpoint + path
        async with self._session.request(method, url, data=data, headers=hdrs, params=clean) as r:
            raw = await r.read()
            if r.status >= 400:
                raise error_of(r.status, raw)
            return json.loads(raw) if raw else None


def error_of(status: int, raw: bytes) -> ApiClientError:
    """Nova's ``{"fault": {message}}`` or Neutron's ``{"NeutronError": {type, message}}``."""
    try:
        ((fault, detail),) = json.loads(raw).items()
        kind = str(detail.get("type") or fault)
        return ApiClientError(status, kind, str(detail.get("message", "")))
    except (ValueError, AttributeError, TypeError):
        return ApiClientError(status, "error", raw.decode("utf-8", "replace")[:300])
