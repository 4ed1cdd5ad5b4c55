"""Calling the cloud's public APIs as the logged-in user.

The console holds no privilege of its own over data: every call carries the
session's identity token, so the proxy decides what the user may do exactly
as it does for the CLI or swiftclient, and the console's own role checks only
decide what is shown. :class:`Services` lives on the app (one HTTP
connection pool); :func:`swift` gives a handler a client bound to the user.
Other sections call their service with :meth:`Services.call` the same way
(``X-Auth-Token`` is what the volume, image and compute APIs take too).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

ACL_PUBLIC = ".r:*,.rlistings"


class ServiceError(Exception):
    """An API answered with an error: its status and a short reason for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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

    async def call(
        self,
        method: str,
        url: str,
        token: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> aiohttp.ClientResponse:
        """One request as the user; a :class:`ServiceError` unless the status is in ``ok``.

        The caller reads (or releases) the response it gets back.
        """
        hdrs = {"X-Auth-Token": token, **(headers or {})}
        try:
            resp = await self.http.request(method, url, headers=hdrs, params=params, data=data)
        except aiohttp.ClientError as exc:
            raise ServiceError(502, f"the service did not answer ({type(exc).__name__})") from None
        if resp.status not in ok:
            body = (await resp.content.read(300)).decode("utf-8", "replace")
            resp.release()
            raise ServiceError(resp.status, _reason(resp.status, body))
        return resp


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

    def url(self, container: str | None = None, obj: str | None = None) -> str:
        out = self.base
        if container is not None:
            out += "/" + quote(container, safe="")
        if obj is not None:
            out += "/" + quote(obj, safe="/")
        return out

    async def _call(self, method: str, url: str, **kw: Any) -> aiohttp.ClientResponse:
        return await self.services.call(method, url, self.token, **kw)

    async def account(self) -> tuple[dict[str, str], list[ContainerRow]]:
        """The account's headers and every container (listings page through 10 000 at a time)."""
        rows: list[ContainerRow] = []
        marker = ""
        headers: dict[str, str] = {}
        while True:
            resp = await self._call("GET", self.base, params={"format": "json", "marker": marker})
            headers = dict(resp.headers)
            page = json.loads(await resp.read() or b"[]")
            rows += [ContainerRow(r["name"], int(r["count"]), int(r["bytes"])) for r in page]
            if len(page) < 10_000:
                return headers, rows
            marker = page[-1]["name"]

    async def container(self, name: str) -> dict[str, str]:
        resp = await self._call("HEAD", self.url(name))
        resp.release()
        return dict(resp.headers)

    async def create_container(self, name: str) -> None:
        (await self._call("PUT", self.url(name))).release()

    async def delete_container(self, name: str) -> None:
        (await self._call("DELETE", self.url(name))).release()

    async def set_public(self, name: str, public: bool) -> None:
        headers = {"X-Container-Read": ACL_PUBLIC} if public else {"X-Remove-Container-Read": "1"}
        (await self._call("POST", self.url(name), headers=headers)).release()

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
        resp = await self._call("GET", self.url(container), params=params)
        page = json.loads(await resp.read() or b"[]")
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
        resp = await self._call("HEAD", self.url(container, obj))
        resp.release()
        return dict(resp.headers)

    async def get_object(
        self, container: str, obj: str, headers: Mapping[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        """The object's response, streaming: read it and release it."""
        return await self._call("GET", self.url(container, obj), headers=headers, ok=(200, 206))

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
        resp = await self._call("PUT", self.url(container, obj), headers=headers, data=body)
        resp.release()
        return resp.headers.get("ETag", "")

    async def delete_object(self, container: str, obj: str) -> None:
        (await self._call("DELETE", self.url(container, obj))).release()

    async def set_metadata(
        self, container: str, obj: str, meta: Mapping[str, str], content_type: str
    ) -> None:
        """Replace the object's user metadata (Swift's POST replaces it whole)."""
        headers = {f"X-Object-Meta-{k}": v for k, v in meta.items()}
        headers["Content-Type"] = content_type
        (await self._call("POST", self.url(container, obj), headers=headers)).release()


SERVICES: web.AppKey[Services] = web.AppKey("console_services", Services)
