"""Volumes created from images kept in the object store (``imageRef``).

``imageRef`` is an image of the image API (a Glance image id, what
`openstack volume create --image` sends), read through that API as the
volume's owner (so its visibility rules hold); or an object of the caller's
own account as ``<container>/<object>``. A raw image streams straight into the volume's
partial file (all-zero blocks are skipped, so the volume stays sparse); a
qcow2 image (magic ``QFI\\xfb``) is downloaded to a temporary file and
converted with ``qemu-img convert``. An image larger than the volume fails
the create.

The object is the tenant's own bytes, never trusted: a qcow2 is checked by
:func:`stratus.diskimage.inspect_file` (no backing or data file, virtual
size within the volume) and converted with its backing disabled, so QEMU
never opens a host file it names; raw data is inspected on the way and a
volume whose data turns out to be another format (a vmdk descriptor, say)
fails instead of holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp

from blockstore.backup import chunks
from blockstore.backup.objects import ObjectAccess, required
from blockstore.manager.context import Context
from blockstore.manager.core import GiB
from blockstore.manager.errors import BackendError, BadRequest
from blockstore.manager.records import Volume
from stratus import diskimage

QCOW2_MAGIC = b"QFI\xfb"
BLOCK = 1024 * 1024


# A Glance image id (a UUID; Glance makes them, `openstack` looks names up to them).
IMAGE_ID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
# What a volume can hold: the bytes of a disk, as they are or converted from qcow2.
DISK_FORMATS = frozenset({"raw", "qcow2"})


def split_ref(ref: str) -> tuple[str, str]:
    container, _, obj = ref.partition("/")
    return container, obj


class Images:
    """The volumes' :class:`~blockstore.manager.volumes.ImageSource`: images of the image
    API at ``image_api`` (empty: none) and objects of the caller's account in ``objects``
    (None: volumes from images are refused)."""

    def __init__(self, ctx: Context, objects: ObjectAccess | None, image_api: str = "") -> None:
        self.ctx = ctx
        self.objects = objects
        self.image_api = image_api.rstrip("/")

    def check_image_ref(self, ref: Any) -> str:
        required(self.objects)
        if isinstance(ref, str) and self.image_api and IMAGE_ID.match(ref):
            return ref
        if not isinstance(ref, str) or len(ref) > 1024:
            raise BadRequest("Invalid input received: imageRef must be an image id.")
        container, obj = split_ref(ref)
        if not container or not obj:
            raise BadRequest(
                "Invalid input received: imageRef must be an image id (or "
                "'<container>/<object>' of an object in your project's object store)."
            )
        return ref

    @contextlib.asynccontextmanager
    async def _open(self, vol: Volume) -> AsyncIterator[tuple[aiohttp.ClientResponse, str]]:
        """The image's bytes as a response to stream, read as the volume's owner, and the
        disk format the image API says they are in (empty for an object)."""
        assert vol.image_ref is not None
        objects = required(self.objects)
        if not (self.image_api and IMAGE_ID.match(vol.image_ref)):
            container, obj = split_ref(vol.image_ref)
            client = await objects.client(vol.project, vol.user)
            async with client.open_object(container, obj) as resp:
                yield resp, ""
            return
        url = f"{self.image_api}/v2/images/{quote(vol.image_ref, safe='')}"
        headers = {"X-Auth-Token": await objects.token(vol.project, vol.user)}
        session = objects.session()
        async with session.get(url, headers=headers) as resp:
            if resp.status == 404:
                raise BadRequest(f"Image {vol.image_ref} could not be found.")
            if resp.status != 200:
                raise BackendError(f"the image API answered {resp.status}")
            image = await resp.json()
        if image.get("status") != "active" or image.get("disk_format") not in DISK_FORMATS:
            raise BadRequest(
                f"Image {vol.image_ref} must be active and raw or qcow2 to fill a volume "
                f"(it is {image.get('status')}, {image.get('disk_format')})."
            )
        async with session.get(f"{url}/file", headers=headers) as resp:
            if resp.status != 200:
                raise BackendError(f"the image API answered {resp.status} for the image's data")
            yield resp, image["disk_format"]

    async def fill_from_image(self, vol: Volume) -> None:
        limit = vol.size * GiB
        fd, tmp = await self.ctx.io(self.ctx.backend.open_partial_volume, vol.id)
        try:
            async with self._open(vol) as (resp, disk_format):
                first = await resp.content.read(len(QCOW2_MAGIC))
                if disk_format and (first == QCOW2_MAGIC) != (disk_format == "qcow2"):
                    raise BadRequest(f"Image data is not in its disk_format {disk_format}.")
                if first == QCOW2_MAGIC:
                    await self._convert_qcow2(first, resp, tmp, limit)
                else:
                    await self._copy_raw(first, resp, fd, limit)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        await self.ctx.io(self.ctx.backend.commit_partial_volume, vol.id, fd, limit, vol.thick)

    async def _copy_raw(self, first: bytes, resp: Any, fd: int, limit: int) -> None:
        offset = 0
        pending = first
        inspector = diskimage.StreamInspector()
        async for block in resp.content.iter_chunked(BLOCK):
            pending += block
            if len(pending) >= BLOCK:
                inspector.feed(pending)
                offset = await self._put(fd, pending, offset, limit)
                pending = b""
        if pending:
            inspector.feed(pending)
            await self._put(fd, pending, offset, limit)
        try:
            inspector.verdict("raw", limit)
        except diskimage.UnsafeImage as exc:
            raise BadRequest(f"Image refused: {exc}") from None

    async def _put(self, fd: int, data: bytes, offset: int, limit: int) -> int:
        if offset + len(data) > limit:
            raise BadRequest(f"Image is larger than the volume ({limit // GiB}G).")
        if not chunks.is_zero(data):
            await self.ctx.io(os.pwrite, fd, data, offset)
        return offset + len(data)

    async def _convert_qcow2(self, first: bytes, resp: Any, dest: Any, limit: int) -> None:
        tool = shutil.which("qemu-img")
        if tool is None:
            raise BackendError("qcow2 images need qemu-img (Debian package qemu-utils)")
        src = dest.with_suffix(".qcow2")
        try:
            with open(src, "wb") as f:
                await self.ctx.io(f.write, first)
                async for block in resp.content.iter_chunked(BLOCK):
                    await self.ctx.io(f.write, block)
            try:
                info = await diskimage.inspect_file(src, "qcow2", qemu_img=tool)
            except diskimage.UnsafeImage as exc:
                raise BadRequest(f"Image refused: {exc}") from None
            except diskimage.ImageToolError as exc:
                raise BackendError(str(exc)) from None
            if info.virtual_size > limit:
                raise BadRequest(f"Image is larger than the volume ({limit // GiB}G).")
            opened = diskimage.json_filename(src, "qcow2")  # backing disabled
            await _run(tool, "convert", "-f", "qcow2", "-O", "raw", opened, str(dest))
        finally:
            src.unlink(missing_ok=True)


async def _run(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise BackendError(f"{argv[1]} failed: {err.decode(errors='replace')[:300]}")
    return out.decode()
