"""Volumes created from images kept in the object store (``imageRef``).

``imageRef`` names an object of the caller's own account as
``<container>/<object>``. A raw image streams straight into the volume's
partial file (all-zero blocks are skipped, so the volume stays sparse); a
qcow2 image (magic ``QFI\\xfb``) is downloaded to a temporary file and
converted with ``qemu-img convert``. An image larger than the volume fails
the create.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from typing import Any

from blockstore.backup import chunks
from blockstore.backup.ops import BackupOps
from blockstore.manager.core import GiB
from blockstore.manager.errors import BackendError, BadRequest
from blockstore.manager.records import Volume

QCOW2_MAGIC = b"QFI\xfb"
BLOCK = 1024 * 1024


def split_ref(ref: str) -> tuple[str, str]:
    container, _, obj = ref.partition("/")
    return container, obj


class ImageOps(BackupOps):
    def check_image_ref(self, ref: Any) -> str:
        self._objects()
        if not isinstance(ref, str) or len(ref) > 1024:
            raise BadRequest("Invalid input received: imageRef must be '<container>/<object>'.")
        container, obj = split_ref(ref)
        if not container or not obj:
            raise BadRequest(
                "Invalid input received: imageRef must be '<container>/<object>' "
                "of an object in your project's object store."
            )
        return ref

    async def fill_from_image(self, vol: Volume) -> None:
        assert vol.image_ref is not None
        container, obj = split_ref(vol.image_ref)
        client = await self._objects().client(vol.project, vol.user)
        limit = vol.size * GiB
        fd, tmp = await self.io(self.backend.open_partial_volume, vol.id)
        try:
            async with client.open_object(container, obj) as resp:
                first = await resp.content.read(len(QCOW2_MAGIC))
                if first == QCOW2_MAGIC:
                    await self._convert_qcow2(first, resp, tmp, limit)
                else:
                    await self._copy_raw(first, resp, fd, limit)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        await self.io(self.backend.commit_partial_volume, vol.id, fd, limit, vol.thick)

    async def _copy_raw(self, first: bytes, resp: Any, fd: int, limit: int) -> None:
        offset = 0
        pending = first
        async for block in resp.content.iter_chunked(BLOCK):
            pending += block
            if len(pending) >= BLOCK:
                offset = await self._put(fd, pending, offset, limit)
                pending = b""
        if pending:
            await self._put(fd, pending, offset, limit)

    async def _put(self, fd: int, data: bytes, offset: int, limit: int) -> int:
        if offset + len(data) > limit:
            raise BadRequest(f"Image is larger than the volume ({limit // GiB}G).")
        if not chunks.is_zero(data):
            await self.io(os.pwrite, fd, data, offset)
        return offset + len(data)

    async def _convert_qcow2(self, first: bytes, resp: Any, dest: Any, limit: int) -> None:
        tool = shutil.which("qemu-img")
        if tool is None:
            raise BackendError("qcow2 images need qemu-img (Debian package qemu-utils)")
        src = dest.with_suffix(".qcow2")
        try:
            with open(src, "wb") as f:
                await self.io(f.write, first)
                async for block in resp.content.iter_chunked(BLOCK):
                    await self.io(f.write, block)
            info = json.loads(await _run(tool, "info", "--output=json", "-f", "qcow2", str(src)))
            if int(info.get("virtual-size", 0)) > limit:
                raise BadRequest(f"Image is larger than the volume ({limit // GiB}G).")
            await _run(tool, "convert", "-f", "qcow2", "-O", "raw", str(src), str(dest))
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
