"""Asking the compute service to move a server's disk to a volume's new copy.

Cinder migrates an in-use volume by asking Nova to swap the server's volume
(``PUT /v2.1/servers/{id}/os-volume_attachments/{volume}``, an admin call); Nova copies
with a block job and pivots. Here the volume keeps its id, so the call names the same
volume and carries the migration's step (``stratus:migration``: ``mirror`` with the new
copy's connection info, then ``complete`` or ``abort``), sent with the token of the admin
who started the migration. See ``compute_glue.servers.swap`` for the compute's side.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from blockstore.manager.migration import SwapRefused, SwapStep

log = logging.getLogger("blockstore.api")
TIMEOUT = aiohttp.ClientTimeout(total=3900, sock_connect=5)  # a mirror copies a whole volume


class ComputeSwapClient:
    """:class:`~blockstore.manager.migration.ComputeSwap` over the compute API."""

    def __init__(self, compute_url: str, token: str) -> None:
        self.base = f"{compute_url.rstrip('/')}/v2.1/servers"
        self.token = token

    async def step(
        self,
        server_id: str,
        volume_id: str,
        step: SwapStep,
        connection_info: dict[str, Any] | None = None,
    ) -> None:
        mig: dict[str, Any] = {"step": step}
        if connection_info is not None:
            mig["connection_info"] = connection_info
        body = {"volumeAttachment": {"volumeId": volume_id, "stratus:migration": mig}}
        url = f"{self.base}/{quote(server_id, safe='')}/os-volume_attachments/"
        url += quote(volume_id, safe="")
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.put(url, json=body, headers={"X-Auth-Token": self.token}) as resp,
        ):
            if resp.status != 202:
                text = (await resp.text())[:500]
                raise SwapRefused(f"compute answered {step} with HTTP {resp.status}: {text}")
        log.info("compute: %s of volume %s on server %s done", step, volume_id, server_id)
