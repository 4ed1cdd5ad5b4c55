"""Calling the cloud's public APIs as the logged-in user.

The console holds no privilege of its own over data: every call carries the
session's identity token, so the proxy decides what the user may do exactly
as it does for the CLI or swiftclient, and the console's own role checks only
decide what is shown. :class:`Services` lives on the app (one HTTP
connection pool); :func:`swift` gives a handler a client bound to the user.
Other sections call their service with :meth:`Services.call` the same way
(``X-Auth-Token`` is what the volume, image and compute APIs take too).

The calls go through the shared client base (:mod:`stratus.http.client`);
what the console adds is the wording: an error answer or an unreachable
service becomes a :class:`ServiceError` whose message the error page shows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from stratus.http.client import Errors, HttpError, JsonClient, Reply

ACL_PUBLIC = ".r:*,.rlistings"
#: Any status from 300 up is an error to the console (redirects are followed before).
ERROR_STATUS = 300
#: How much of an error answer is read for the page's reason.
ERROR_BODY = 300


class ServiceError(HttpError):
    """An API answered with an error: its status and a short reason for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status)
        self.message = message


def page_error(resp: aiohttp.ClientResponse, body: bytes) -> ServiceError:
    """An error answer in the page's words (the client base's ``errors`` function)."""
    return ServiceError(resp.status, _reason(resp.status, body.decode("utf-8", "replace")))


@contextmanager
def answered(what: str) -> Iterator[None]:
    """A service that could not be reached becomes a 502 :class:`ServiceError` naming it."""
    try:
        yield
    except aiohttp.ClientError as exc:
        raise ServiceError(502, f"{what} did not answer ({type(exc).__name__})") from None


async def send(
    api: JsonClient, method: str, path: str, *, what: str = "the service", **kw: Any
) -> Reply:
    """One call on ``api``, its whole answer read (see :meth:`JsonClient.send`)."""
    with answered(what):
        return await api.send(method, path, **kw)


@dataclass(frozen=True)
class Endpoints:
    """Where the console reaches the services (loopback addresses from the configuration)."""

    proxy: str  # http://host:port of the native (Swift) API
    s3: str  # http(s)://host:port of the S3 API (share links point there)
    s3_region: str
    volume: str = ""  # http://host:port of the volume (Cinder v3) API
    compute: str = ""  # http://host:port of the compute (Nova v2.1) API
    image: str = ""  # http://host:port of the image (Glance v2) API
    network: str = ""  # http://host:port of the network (Neutron v2.0) API
    nodes: tuple[str, ...] = ()  # http://host:port of each local storage node (cluster health)


class Services:
    """The app-wide HTTP client pool and the service addresses."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60),
                auto_decompress=False,
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def client(
        self,
        base_url: str,
        token: str | None = None,
        *,
        errors: Errors = page_error,
        encoded: bool = False,
        error_body: int | None = ERROR_BODY,
    ) -> JsonClient:
        """A client of one API (as the holder of ``token``) on the app's connection pool.

        The arguments are :class:`JsonClient`'s; errors are the page's by default.
        """
        return JsonClient(
            base_url,
            token,
            session=self.http,
            errors=errors,
            error_status=ERROR_STATUS,
            error_body_limit=error_body,
            encoded=encoded,
        )

    async def call(
        self,
        method: str,
        url: str,
        token: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Any = None,
    ) -> Reply:
        """One request to ``url`` as the user, its whole answer read; a :class:`ServiceError`
        for an error status or a service that does not answer."""
        api = self.client("", token)
        return await send(api, method, url, headers=headers, params=params, data=data)


def _reason(status: int, body: str) -> str:
    if status == 401:
        return "your login is no longer valid"
    if status == 403:
        return "your role does not allow this"
    if status == 404:
        return "not found"
    text = " ".join(body.replace("<", " <").split())
    return text[:200] or f"error {status}"


@dataclass(frozen=True)
class ContainerRow:
    name: str
    count: int
    bytes: int


@dataclass(frozen=True)
class ObjectRow:
    name: str  # full object name, or the prefix of a folder (ending in the delimiter)
    bytes: int
    content_type: str
    last_modified: str
    is_folder: bool = False


@dataclass(frozen=True)
class Listing:
    rows: list[ObjectRow]
    next_marker: str | None  # where the next page starts, None at the end


def listing_size(size: int, content_type: str) -> tuple[int, str]:
    """A listing row's real size and content type.

    A segmented (multipart) object is listed as its small manifest, the whole
    size riding in the content type's ``swift_bytes`` parameter (as in Swift).
    """
    base, *params = content_type.split(";")
    keep = []
    for param in params:
        key, _, value = param.strip().partition("=")
        if key == "swift_bytes" and value.isdigit():
            size = int(value)
        elif key != "s3_etag":
            keep.append(param)
    return size, ";".join([base, *keep])


class SwiftClient:
    """The native API as one user: containers and objects of its project's account."""

    def __init__(self, services: Services, token: str, account: str) -> None:
        self.services = services
        self.token = token
        self.base = f"{services.endpoints.proxy}/v1/{account}"
        self.api = services.client(self.base, token)

    def path(self, container: str | None = None, obj: str | None = None) -> str:
        """The quoted path below the account (``""`` for the account itself)."""
        out = ""
        if container is not None:
            out += "/" + quote(container, safe="")
        if obj is not None:
            out += "/" + quote(obj, safe="/")
        return out

    def url(self, container: str | None = None, obj: str | None = None) -> str:
        return self.base + self.path(container, obj)

    async def _call(self, method: str, path: str = "", **kw: Any) -> Reply:
        return await send(self.api, method, path, **kw)

    async def account(self) -> tuple[dict[str, str], list[ContainerRow]]:
        """The account's headers and every container (listings page through 10 000 at a time)."""
        rows: list[ContainerRow] = []
        marker = ""
        headers: dict[str, str] = {}
        while True:
            reply = await self._call("GET", params={"format": "json", "marker": marker})
            headers = dict(reply.headers)
            page = json.loads(reply.body or b"[]")
            rows += [ContainerRow(r["name"], int(r["count"]), int(r["bytes"])) for r in page]
            if len(page) < 10_000:
                return headers, rows
            marker = page[-1]["name"]

    async def container(self, name: str) -> dict[str, str]:
        return dict((await self._call("HEAD", self.path(name))).headers)

    async def create_container(self, name: str) -> None:
        await self._call("PUT", self.path(name))

    async def delete_container(self, name: str) -> None:
        await self._call("DELETE", self.path(name))

    async def set_public(self, name: str, public: bool) -> None:
        headers = {"X-Container-Read": ACL_PUBLIC} if public else {"X-Remove-Container-Read": "1"}
        await self._call("POST", self.path(name), headers=headers)

    async def list_objects(
        self,
        container: str,
        *,
        prefix: str = "",
        delimiter: str = "/",
        marker: str = "",
        limit: int = 100,
        reverse: bool = False,
    ) -> Listing:
        """One page of a container, folders first-class (prefix + delimiter)."""
        params = {"format": "json", "prefix": prefix, "limit": str(limit + 1)}
        if delimiter:
            params["delimiter"] = delimiter
        if marker:
            params["marker"] = marker
        if reverse:
            params["reverse"] = "true"
        reply = await self._call("GET", self.path(container), params=params)
        page = json.loads(reply.body or b"[]")
        more = len(page) > limit
        page = page[:limit]
        rows = []
        for r in page:
            if "subdir" in r:
                rows.append(ObjectRow(r["subdir"], 0, "", "", is_folder=True))
            else:
                size, ctype = listing_size(int(r["bytes"]), r["content_type"])
                rows.append(ObjectRow(r["name"], size, ctype, r["last_modified"]))
        last = rows[-1].name if rows else None
        return Listing(rows, last if more else None)

    async def head_object(self, container: str, obj: str) -> dict[str, str]:
        return dict((await self._call("HEAD", self.path(container, obj))).headers)

    @asynccontextmanager
    async def get_object(
        self, container: str, obj: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The object's response, its body unread: stream ``resp.content`` inside the block."""
        async with AsyncExitStack() as stack:
            with answered("the service"):  # reaching it; a break mid-body is the reader's
                resp = await stack.enter_async_context(
                    self.api.open("GET", self.path(container, obj), headers=headers)
                )
            yield resp

    async def put_object(
        self,
        container: str,
        obj: str,
        body: AsyncIterator[bytes],
        length: int,
        content_type: str,
    ) -> str:
        """Stream ``length`` bytes into an object; its ETag."""
        headers = {"Content-Length": str(length), "Content-Type": content_type}
        reply = await self._call("PUT", self.path(container, obj), headers=headers, data=body)
        return reply.headers.get("ETag", "")

    async def delete_object(self, container: str, obj: str) -> None:
        await self._call("DELETE", self.path(container, obj))

    async def set_metadata(
        self, container: str, obj: str, meta: Mapping[str, str], content_type: str
    ) -> None:
        """Replace the object's user metadata (Swift's POST replaces it whole)."""
        headers = {f"X-Object-Meta-{k}": v for k, v in meta.items()}
        headers["Content-Type"] = content_type
        await self._call("POST", self.path(container, obj), headers=headers)


SERVICES: web.AppKey[Services] = web.AppKey("console_services", Services)
