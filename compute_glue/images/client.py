"""A typed async client of the image API (Glance v2 shapes), for compute and the CLI.

Answers are the API's JSON objects (``dict``). Errors raise
:class:`ImageApiError` with the HTTP status and Glance's message::

    async with ImageClient("http://127.0.0.1:9292", token) as images:
        img = await images.create(name="k", disk_format="aki", container_format="aki")
        await images.upload(img["id"], Path("vmlinuz"))
        await images.download(img["id"], Path("copy"))   # checked against its MD5
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from stratus.http.client import HttpError, JsonClient

TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
CHUNK = 256 * 1024
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"

Json = dict[str, Any]


class ImageApiError(HttpError):
    """The image API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})", status)
        self.message = message


class ImageClient:
    """The image API as one token sees it (over the shared :class:`JsonClient`)."""

    def __init__(
        self, endpoint: str, token: str, *, session: aiohttp.ClientSession | None = None
    ) -> None:
        self._http = JsonClient(
            f"{endpoint.rstrip('/')}/v2", token, session=session, timeout=TIMEOUT, errors=_error
        )
        self.endpoint = endpoint.rstrip("/")

    @property
    def token(self) -> str:
        return self._http.token or ""

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> ImageClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- records ---------------------------------------------------------------------

    async def create(self, **fields: Any) -> Json:
        """``fields``: name, disk_format, container_format, visibility, tags, min_ram,
        and any extra property (kernel_id, ramdisk_id, os_command_line...)."""
        return await self._http.request("POST", "/images", fields)

    async def get(self, image_id: str) -> Json:
        return await self._http.request("GET", f"/images/{quote(image_id, safe='')}")

    async def list(self, **filters: Any) -> list[Json]:
        """Every visible image matching ``filters`` (name, status, visibility, property=...)."""
        out: list[Json] = []
        params = dict(filters)
        while True:
            page = await self._http.request("GET", "/images", params=params)
            out += page["images"]
            if "next" not in page or not page["images"]:
                return out
            params["marker"] = page["images"][-1]["id"]

    async def update(self, image_id: str, **changes: Any) -> Json:
        """Set (or with None remove) top-level attributes and properties."""
        ops: list[Json] = []
        for key, value in changes.items():
            if value is None:
                ops.append({"op": "remove", "path": f"/{key}"})
            else:
                ops.append({"op": "add", "path": f"/{key}", "value": value})
        path = f"/images/{quote(image_id, safe='')}"
        return await self._http.request("PATCH", path, ops, content_type=PATCH_TYPE)

    async def delete(self, image_id: str) -> None:
        await self._http.request("DELETE", f"/images/{quote(image_id, safe='')}")

    # -- data ------------------------------------------------------------------------

    async def upload(
        self, image_id: str, data: bytes | Path | AsyncIterable[bytes], *, size: int | None = None
    ) -> None:
        """Upload the image's bytes (a file is streamed)."""
        headers = {"Content-Type": "application/octet-stream"}
        body: Any = data
        if isinstance(data, Path):
            size = data.stat().st_size
            body = _read_file(data)
        if size is not None:
            headers["Content-Length"] = str(size)
        path = f"/images/{quote(image_id, safe='')}/file"
        await self._http.send("PUT", path, data=body, headers=headers)

    async def download(self, image_id: str, dest: Path) -> str:
        """Write the image's bytes to ``dest`` (atomically); their MD5, checked."""
        path = f"/images/{quote(image_id, safe='')}/file"
        tmp = dest.with_name(f".{dest.name}.part")
        md5 = hashlib.md5(usedforsecurity=False)
        async with self._http.open("GET", path) as resp:
            if resp.status == 204:
                raise ImageApiError(204, f"image {image_id} has no data")
            expected = resp.headers.get("Content-MD5", "")
            try:
                with tmp.open("wb") as f:
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        md5.update(chunk)
                        f.write(chunk)
                if expected and md5.hexdigest() != expected:
                    raise ImageApiError(502, f"image {image_id}: data does not match its checksum")
                tmp.replace(dest)
            finally:
                tmp.unlink(missing_ok=True)
        return md5.hexdigest()


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _error(resp: aiohttp.ClientResponse, raw: bytes) -> ImageApiError:
    try:
        return ImageApiError(resp.status, str(json.loads(raw).get("message", "")))
    except (ValueError, AttributeError):
        return ImageApiError(resp.status, raw.decode("utf-8", "replace")[:300])
