"""A typed async client of the compute API (Nova v2.1 shapes)::

async with ComputeClient("http://127.0.0.1:8774", token) as nova:
    s = await nova.create_server("a", image_id, "m1.tiny", networks=[{"uuid": net}],
                                 script="echo hello")
    s = await nova.wait_server(s["id"], "ACTIVE")
    await nova.attach_volume(s["id"], volume_id)
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import quote

from compute_glue.jsonclient import ApiClientError, JsonApi

Json = dict[str, Any]
__all__ = ["ApiClientError", "ComputeClient", "ServerStateError"]


class ServerStateError(Exception):
    """A server landed in ERROR (or another state) while we waited for one."""


def _q(ident: str) -> str:
    return quote(ident, safe="")


class ComputeClient(JsonApi):
    """Servers, flavors and volume attachments as one token sees them."""

    async def create_server(
        self,
        name: str,
        image_id: str | None,
        flavor: str,
        *,
        networks: list[Json] | str | None = None,
        script: str | None = None,
        block_devices: list[Json] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Json:
        """``script`` is the guest's shell script (sent as base64 ``user_data``)."""
        body: Json = {"name": name, "flavorRef": flavor}
        if image_id is not None:
            body["imageRef"] = image_id
        if networks is not None:
            body["networks"] = networks
        if script is not None:
            body["user_data"] = base64.b64encode(script.encode()).decode()
        if block_devices is not None:
            body["block_device_mapping_v2"] = block_devices
        if metadata is not None:
            body["metadata"] = metadata
        return (await self.request("POST", "/v2.1/servers", {"server": body}))["server"]

    async def get_server(self, server_id: str) -> Json:
        return (await self.request("GET", f"/v2.1/servers/{_q(server_id)}"))["server"]

    async def list_servers(self, **filters: Any) -> list[Json]:
        return (await self.request("GET", "/v2.1/servers/detail", params=filters))["servers"]

    async def delete_server(self, server_id: str) -> None:
        await self.request("DELETE", f"/v2.1/servers/{_q(server_id)}")

    async def action(self, server_id: str, name: str, args: Any = None) -> Any:
        return await self.request("POST", f"/v2.1/servers/{_q(server_id)}/action", {name: args})

    async def stop(self, server_id: str) -> None:
        await self.action(server_id, "os-stop")

    async def start(self, server_id: str) -> None:
        await self.action(server_id, "os-start")

    async def reboot(self, server_id: str, hard: bool = False) -> None:
        await self.action(server_id, "reboot", {"type": "HARD" if hard else "SOFT"})

    async def console(self, server_id: str, length: int | None = None) -> str:
        args = {"length": length} if length is not None else {}
        return (await self.action(server_id, "os-getConsoleOutput", args))["output"]

    async def wait_server(
        self, server_id: str, status: str, *, timeout: float = 120.0, interval: float = 0.2
    ) -> Json:
        """Poll until the server has ``status`` and no task; ServerStateError on ERROR."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            server = await self.get_server(server_id)
            if server["status"] == status and server.get("OS-EXT-STS:task_state") is None:
                return server
            if server["status"] == "ERROR" and status != "ERROR":
                fault = server.get("fault", {}).get("message", "")
                raise ServerStateError(f"server {server_id} is ERROR: {fault}")
            if loop.time() > deadline:
                raise TimeoutError(f"server {server_id} still {server['status']} after {timeout}s")
            await asyncio.sleep(interval)

    async def wait_gone(self, server_id: str, *, timeout: float = 120.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                server = await self.get_server(server_id)
            except ApiClientError as exc:
                if exc.status == 404:
                    return
                raise
            if server["status"] == "ERROR" and server.get("OS-EXT-STS:task_state") is None:
                raise ServerStateError(
                    f"server {server_id} could not be deleted: "
                    f"{server.get('fault', {}).get('message', '')}"
                )
            if loop.time() > deadline:
                raise TimeoutError(f"server {server_id} still there after {timeout}s")
            await asyncio.sleep(0.2)

    async def attach_volume(self, server_id: str, volume_id: str) -> Json:
        path = f"/v2.1/servers/{_q(server_id)}/os-volume_attachments"
        body = {"volumeAttachment": {"volumeId": volume_id}}
        return (await self.request("POST", path, body))["volumeAttachment"]

    async def detach_volume(self, server_id: str, volume_id: str) -> None:
        path = f"/v2.1/servers/{_q(server_id)}/os-volume_attachments/{_q(volume_id)}"
        await self.request("DELETE", path)

    async def list_volume_attachments(self, server_id: str) -> list[Json]:
        path = f"/v2.1/servers/{_q(server_id)}/os-volume_attachments"
        return (await self.request("GET", path))["volumeAttachments"]

    async def list_flavors(self) -> list[Json]:
        return (await self.request("GET", "/v2.1/flavors/detail"))["flavors"]
