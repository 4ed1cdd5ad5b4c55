"""The compute and network clients over the shared JSON client: Nova and Neutron errors."""

from __future__ import annotations

import json

import aiohttp

from stratus.http.client import HttpError, JsonClient


class ApiClientError(HttpError):
    """An API refused a request: HTTP status, the fault's name and its message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status} {kind})", status)
        self.kind = kind
        self.message = message


class JsonApi(JsonClient):
    """JSON over HTTP with an identity token, on one session; errors as :class:`ApiClientError`."""

    def __init__(
        self, endpoint: str, token: str, *, session: aiohttp.ClientSession | None = None
    ) -> None:
        super().__init__(endpoint, token, session=session, errors=error_of)

    @property
    def endpoint(self) -> str:
        return self.base_url


def error_of(resp: aiohttp.ClientResponse, raw: bytes) -> ApiClientError:
    """Nova's ``{"fault": {message}}`` or Neutron's ``{"NeutronError": {type, message}}``."""
    try:
        ((fault, detail),) = json.loads(raw).items()
        kind = str(detail.get("type") or fault)
        return ApiClientError(resp.status, kind, str(detail.get("message", "")))
    except (ValueError, AttributeError, TypeError):
        return ApiClientError(resp.status, "error", raw.decode("utf-8", "replace")[:300])
