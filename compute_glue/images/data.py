"""Image bytes: streamed into and out of the object store, hashed on the way in.

An upload moves the record queued -> saving, streams the request body to
``<image container>/<image id>`` in the owner's account while computing
MD5 (``checksum``) and SHA-512 (``os_hash_value``) and counting the size,
then moves it saving -> active with those values. Any failure deletes the
partial object and puts the image back to queued, so a record never claims
bytes the store does not hold.

A disk image (``raw``, ``qcow2``) is inspected on the way in
(:class:`stratus.diskimage.StreamInspector`, as Glance does): data that is
not its declared ``disk_format``, that names a backing or data file, or whose
virtual size exceeds the limit is refused with 400 and not kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from compute_glue.errors import ApiError, BadRequest, Conflict, TooLarge, Unavailable
from compute_glue.images.model import HASH_ALGO, Image, ready_for_upload
from compute_glue.images.store import ImageStore
from compute_glue.objects import ObjectAccess
from objectstore.apiclient import SwiftError
from stratus import diskimage

log = logging.getLogger("compute_glue.images")
CHUNK = 256 * 1024
QCOW2_MAGIC = b"QFI\xfb"


@dataclass
class DataSettings:
    container: str = "stratus-images"
    max_size: int = 64 * 1024**3
    max_virtual_size: int = 1024 * 1024**3


class Hasher:
    """MD5, SHA-512 and a byte count over a stream; the qcow2 header when there is one."""

    def __init__(self, limit: int, inspect: bool = False) -> None:
        self.inspector = diskimage.StreamInspector() if inspect else None
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.size = 0
        self.limit = limit
        self.head = b""
        self.overflow = False

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.overflow = True
            raise TooLarge(f"Image exceeds the size limit of {self.limit} bytes.")
        if len(self.head) < 32:
            self.head += chunk[: 32 - len(self.head)]
        self.md5.update(chunk)
        self.sha512.update(chunk)
        if self.inspector is not None:
            self.inspector.feed(chunk)

    def virtual_size(self, disk_format: str | None) -> int | None:
        """The guest-visible size: a qcow2 header's size field, else the byte count."""
        if self.head[:4] == QCOW2_MAGIC and len(self.head) >= 32 and disk_format != "raw":
            return struct.unpack_from(">Q", self.head, 24)[0]
        if disk_format == "qcow2":
            return None
        return self.size


async def upload(
    store: ImageStore,
    access: ObjectAccess,
    settings: DataSettings,
    img: Image,
    body: AsyncIterator[bytes],
    content_length: int | None,
) -> Image:
    """Store the bytes of a queued image; the active image."""
    ready_for_upload(img)
    if content_length is not None and content_length > settings.max_size:
        raise TooLarge(f"Image exceeds the size limit of {settings.max_size} bytes.")

    def begin(i: Image) -> None:
        i.status = "saving"

    store.update(img.id, begin, expect=("queued",))
    hasher = Hasher(settings.max_size, inspect=img.disk_format in diskimage.OPENED_FORMATS)

    async def hashed() -> AsyncIterator[bytes]:
        async for chunk in body:
            hasher.update(chunk)
            yield chunk

    swift = None
    try:
        swift = await access.client(img.owner, img.owner_user)
        await swift.put_container(settings.container)
        etag = await swift.put_object(settings.container, img.id, hashed())
        if content_length is not None and hasher.size != content_length:
            raise BadRequest("The body is shorter than its Content-Length.")
        virtual_size = hasher.virtual_size(img.disk_format)
        if hasher.inspector is not None:
            try:
                checked = hasher.inspector.verdict(str(img.disk_format), settings.max_virtual_size)
                virtual_size = checked.virtual_size
            except diskimage.UnsafeImage as exc:
                log.warning("upload of image %s refused: %s", img.id, exc)
                raise BadRequest(f"Image {img.id} refused: {exc}") from None
        md5 = hasher.md5.hexdigest()
        if etag and etag != md5:
            raise Unavailable("The object store stored other bytes than were sent.")

        def finish(i: Image) -> None:
            i.status = "active"
            i.size = hasher.size
            i.virtual_size = virtual_size
            i.checksum = md5
            i.os_hash_algo = HASH_ALGO
            i.os_hash_value = hasher.sha512.hexdigest()

        return store.update(img.id, finish, expect=("saving",))
    except BaseException as exc:
        await _undo(store, swift, settings, img.id)
        if hasher.overflow:  # aiohttp wraps what the body generator raised
            raise TooLarge(f"Image exceeds the size limit of {settings.max_size} bytes.") from None
        if not isinstance(exc, SwiftError | aiohttp.ClientError):
            raise
        log.warning("upload of image %s failed: %s", img.id, exc)
        raise Unavailable("Error in the image store; the upload was not kept.") from None


async def _undo(store: ImageStore, swift: Any, settings: DataSettings, image_id: str) -> None:
    if swift is not None:
        with contextlib.suppress(Exception):
            await swift.delete_object(settings.container, image_id)

    def back(i: Image) -> None:
        i.status = "queued"

    try:
        store.update(image_id, back, expect=("saving",))
    except Conflict:  # deleted while the upload ran
        pass
    except ApiError:
        pass


async def download(
    request: web.Request, access: ObjectAccess, settings: DataSettings, img: Image
) -> web.StreamResponse:
    """Stream the bytes of an active image to the client."""
    if img.status != "active":
        return web.Response(status=204)
    swift = await access.client(img.owner, img.owner_user)
    try:
        async with swift.open_object(settings.container, img.id) as src:
            resp = web.StreamResponse(
                status=200,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(img.size or 0),
                    "Content-MD5": img.checksum or "",
                },
            )
            await resp.prepare(request)
            async for chunk in src.content.iter_chunked(CHUNK):
                await resp.write(chunk)
            await resp.write_eof()
            return resp
    except SwiftError as exc:
        log.warning("download of image %s failed in the object store: %s", img.id, exc)
        raise Unavailable("The image data could not be read from the store.") from None


async def delete_data(access: ObjectAccess, settings: DataSettings, img: Image) -> None:
    swift = await access.client(img.owner, img.owner_user)
    await swift.delete_object(settings.container, img.id)
