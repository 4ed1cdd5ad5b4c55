"""The one JSON-over-HTTP client base of the typed API clients (volume, image, compute, Swift).

:class:`JsonClient` holds what every client of a Stratus API needs, so
each typed client is only its paths and shapes:

- one aiohttp session (its own, closed with the client, or the caller's);
- a base URL that paths are appended to, and an identity token sent as
  ``X-Auth-Token``;
- timeouts (the session's);
- JSON bodies out and in (:meth:`JsonClient.request`), or raw bytes and
  streams (:meth:`JsonClient.send`, :meth:`JsonClient.open`);
- an error status mapped to the client's own exception by its ``errors``
  function (default :class:`HttpError`); the exception carries the status,
  the body and the request id the server answered with;
- the request id of the request being served (``stratus.http.requestid``:
  its caller's global id if it had one, else its own) sent on as
  ``X-Openstack-Request-Id``, as OpenStack services pass their global
  request id to each other::

    async with JsonClient("http://127.0.0.1:8774", token) as api:
        servers = (await api.request("GET", "/v2.1/servers"))["servers"]
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from stratus.http import requestid

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
#: Response headers that name the request id, in the order they are read.
ID_HEADERS = ("X-Openstack-Request-Id", "X-Compute-Request-Id", "X-Trans-Id")
#: The header the current request id is passed on in.
PASS_ON_HEADER = "X-Openstack-Request-Id"


class HttpError(Exception):
    """An HTTP API answered with an error status.

    ``status`` is the HTTP status, ``body`` the raw error body (at most
    what the client read) and ``request_id`` the id the server gave the
    request (None if it sent none), to find its log lines.
    """

    def __init__(
        self, message: str, status: int, *, body: bytes = b"", request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.request_id = request_id


Errors = Callable[[aiohttp.ClientResponse, bytes], Exception]


def http_error(resp: aiohttp.ClientResponse, body: bytes) -> HttpError:
    """The default mapping: ``METHOD /path: HTTP status <start of the body>``."""
    text = body[:200].decode("utf-8", "replace")
    return HttpError(
        f"{resp.method} {resp.url.path}: HTTP {resp.status} {text}".rstrip(), resp.status
    )


def response_request_id(resp: aiohttp.ClientResponse) -> str | None:
    """The request id the server answered with, if any."""
    for name in ID_HEADERS:
        if name in resp.headers:
            return resp.headers[name]
    return None


@dataclass(frozen=True)
class Reply:
    """A whole (non-error) answer: status, headers and body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class JsonClient:
    """JSON over HTTP, with a token, on one session (see the module docstring).

    ``errors`` maps an answer with status ``error_status`` or above (and its
    body, at most ``error_body_limit`` bytes of it read; None: all) to the
    exception raised; ``headers`` go on every request. ``encoded``: paths
    (with their query) are percent-encoded already and go out byte for byte
    (a signed request's canonical form must not be re-quoted).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        errors: Errors = http_error,
        error_status: int = 400,
        headers: Mapping[str, str] | None = None,
        auto_decompress: bool = True,
        error_body_limit: int | None = None,
        encoded: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.error_body_limit = error_body_limit
        self.encoded = encoded
        self.token = token
        self.headers = dict(headers or {})
        self.errors = errors
        self.error_status = error_status
        self.owns_session = session is None
        self.session = session or aiohttp.ClientSession(
            timeout=timeout, auto_decompress=auto_decompress
        )

    async def close(self) -> None:
        """Close the session if it is the client's own."""
        if self.owns_session:
            await self.session.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def target(self, path: str) -> str | URL:
        """What the session is given: the URL, marked encoded if the client's paths are."""
        return URL(self.url(path), encoded=True) if self.encoded else self.url(path)

    def request_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Token, the client's headers, the request id passed on, then ``extra``."""
        out: dict[str, str] = {}
        if self.token is not None:
            out["X-Auth-Token"] = self.token
        rid = requestid.outgoing()
        if rid is not None:
            out[PASS_ON_HEADER] = rid
        out.update(self.headers)
        out.update(extra or {})
        return out

    async def raise_for(self, resp: aiohttp.ClientResponse, body: bytes | None = None) -> None:
        """Raise the client's exception when ``resp`` is an error answer."""
        if resp.status < self.error_status:
            return
        if body is None:
            limit = self.error_body_limit
            body = await resp.read() if limit is None else await resp.content.read(limit)
        exc = self.errors(resp, body)
        if isinstance(exc, HttpError):
            exc.body = body
            exc.request_id = response_request_id(resp)
        raise exc

    @asynccontextmanager
    async def open(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response, to stream ``resp.content`` (an error answer raises before)."""
        async with self.session.request(
            method, self.target(path), headers=self.request_headers(headers), params=_clean(params),
            data=data,
        ) as resp:  # fmt: skip
            await self.raise_for(resp)
            yield resp

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
    ) -> Reply:
        """One call, its whole answer read (an error answer raises)."""
        async with self.open(method, path, headers=headers, params=params, data=data) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> Any:
        """One JSON call to ``<base_url><path>``: the decoded answer (None if empty)."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body)
            hdrs["Content-Type"] = content_type
        reply = await self.send(method, path, headers=hdrs, params=params, data=data)
        return json.loads(reply.body) if reply.body else None


def _clean(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Query parameters as strings, those set to None left out."""
    if params is None:
        return None
    return {k: str(v) for k, v in params.items() if v is not None}
