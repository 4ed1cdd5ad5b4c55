"""A typed async client of the volume API (Cinder v3 shapes), for compute and the CLI.

Answers are the API's JSON objects (``dict``): a volume as in ``GET
/volumes/{id}``, an attachment with its os-brick ``connection_info``.
Errors raise :class:`VolumeApiError` carrying Cinder's fault name, message
and HTTP status. ``wait_*`` poll until a status is reached (bounded by a
timeout) and raise :class:`VolumeStateError` when the resource lands in an
error state instead::

    async with VolumeClient("http://127.0.0.1:8776", token, "demo") as c:
        vol = await c.create_volume(1, name="data")
        vol = await c.wait_volume(vol["id"], "available")
        att = await c.attach(vol["id"], "iqn.2024-01.org.example:host1")
        att["connection_info"]["data"]["target_portal"]
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import aiohttp

from stratus.http.client import HttpError, JsonClient

TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)
ERROR_STATES = ("error", "error_deleting", "error_extending", "error_restoring")


class VolumeApiError(HttpError):
    """The volume API refused a request."""

    def __init__(self, status: int, fault: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status} {fault})", status)
        self.fault = fault
        self.message = message


class VolumeStateError(Exception):
    """A resource reached an error state while we waited for another one."""


Json = dict[str, Any]


class VolumeClient:
    """One project's view of the volume API, with a token from identity.

    Over the shared :class:`~stratus.http.client.JsonClient`: this adds the
    project's path, the microversion and the service token.
    """

    def __init__(
        self,
        endpoint: str,
        token: str,
        project: str,
        *,
        session: aiohttp.ClientSession | None = None,
        microversion: str = "3.66",
        service_token: str | None = None,
    ) -> None:
        self._http = JsonClient(endpoint, token, session=session, timeout=TIMEOUT, errors=_error)
        self.endpoint = self._http.base_url
        # Sent as X-Service-Token: the compute service's, so that the attachments it makes
        # for servers end only through it (a user's detach of one is refused, as in Cinder).
        self.service_token = service_token
        self.project = project
        self.microversion = microversion

    @property
    def token(self) -> str:
        return self._http.token or ""

    @classmethod
    async def login(cls, endpoint: str, auth_url: str, user: str, key: str) -> VolumeClient:
        """Log in at the object store's /auth/v1.0 as ``project:user``."""
        session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            headers = {"X-Auth-User": user, "X-Auth-Key": key}
            async with session.get(auth_url, headers=headers) as resp:
                if resp.status != 200:
                    raise VolumeApiError(resp.status, "unauthorized", "login refused")
                token = resp.headers["X-Auth-Token"]
        except BaseException:
            await session.close()
            raise
        client = cls(endpoint, token, user.split(":", 1)[0], session=session)
        client._http.owns_session = True
        return client

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> VolumeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing --------------------------------------------------------------------

    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One call to ``/v3/<project><path>``; the decoded JSON answer (None if empty)."""
        headers = {"OpenStack-API-Version": f"volume {self.microversion}"}
        if self.service_token:
            headers["X-Service-Token"] = self.service_token
        path = f"/v3/{quote(self.project, safe='')}{path}"
        return await self._http.request(method, path, body, params, headers)

    async def _pages(self, path: str, key: str, params: dict[str, Any]) -> list[Json]:
        out: list[Json] = []
        params = dict(params)
        while True:
            page = await self.request("GET", path, params=params)
            out += page[key]
            nxt = page.get(f"{key}_links")
            if not nxt or not page[key]:
                return out
            params["marker"] = page[key][-1]["id"]

    async def _wait(
        self,
        fetch: Callable[[], Any],
        wanted: str | Iterable[str],
        timeout: float,
        interval: float,
        on_poll: Callable[[Json], None] | None = None,
    ) -> Json:
        goals = {wanted} if isinstance(wanted, str) else set(wanted)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            item = await fetch()
            if on_poll is not None:
                on_poll(item)
            status = item.get("status")
            if status in goals:
                return item
            if status in ERROR_STATES and status not in goals:
                reason = item.get("fail_reason") or ""
                raise VolumeStateError(f"{item.get('id')} is {status}: {reason}".rstrip(": "))
            if loop.time() > deadline:
                raise TimeoutError(f"{item.get('id')} still {status} after {timeout}s")
            await asyncio.sleep(interval)

    # -- volumes ---------------------------------------------------------------------

    async def create_volume(self, size: int | None, **fields: Any) -> Json:
        """``fields``: name, description, volume_type, snapshot_id, source_volid,
        imageRef, metadata, multiattach, backup_id."""
        body = {k: v for k, v in fields.items() if v is not None}
        if size is not None:
            body["size"] = size
        return (await self.request("POST", "/volumes", {"volume": body}))["volume"]

    async def get_volume(self, volume_id: str) -> Json:
        return (await self.request("GET", f"/volumes/{quote(volume_id, safe='')}"))["volume"]

    async def list_volumes(self, *, detail: bool = True, **filters: Any) -> list[Json]:
        return await self._pages("/volumes/detail" if detail else "/volumes", "volumes", filters)

    async def update_volume(self, volume_id: str, **changes: Any) -> Json:
        path = f"/volumes/{quote(volume_id, safe='')}"
        return (await self.request("PUT", path, {"volume": changes}))["volume"]

    async def delete_volume(self, volume_id: str, *, cascade: bool = False) -> None:
        params = {"cascade": "true"} if cascade else None
        await self.request("DELETE", f"/volumes/{quote(volume_id, safe='')}", params=params)

    async def volume_action(self, volume_id: str, action: str, args: Any = None) -> Any:
        path = f"/volumes/{quote(volume_id, safe='')}/action"
        return await self.request("POST", path, {action: args})

    async def extend_volume(self, volume_id: str, new_size: int) -> None:
        await self.volume_action(volume_id, "os-extend", {"new_size": new_size})

    async def wait_volume(
        self,
        volume_id: str,
        status: str | Iterable[str] = "available",
        *,
        timeout: float = 300,
        interval: float = 0.2,
    ) -> Json:
        return await self._wait(lambda: self.get_volume(volume_id), status, timeout, interval)

    async def wait_volume_gone(self, volume_id: str, *, timeout: float = 300) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                vol = await self.get_volume(volume_id)
            except VolumeApiError as exc:
                if exc.status == 404:
                    return
                raise
            if vol["status"] == "error_deleting":
                raise VolumeStateError(f"{volume_id} is error_deleting")
            if loop.time() > deadline:
                raise TimeoutError(f"{volume_id} still {vol['status']} after {timeout}s")
            await asyncio.sleep(0.2)

    # -- snapshots -------------------------------------------------------------------

    async def create_snapshot(self, volume_id: str, *, force: bool = False, **fields: Any) -> Json:
        # From 3.66 an in-use volume needs no force, and "force": false is refused.
        body: dict[str, Any] = {"volume_id": volume_id, **fields}
        if force:
            body["force"] = True
        return (await self.request("POST", "/snapshots", {"snapshot": body}))["snapshot"]

    async def get_snapshot(self, snapshot_id: str) -> Json:
        return (await self.request("GET", f"/snapshots/{quote(snapshot_id, safe='')}"))["snapshot"]

    async def list_snapshots(self, **filters: Any) -> list[Json]:
        return await self._pages("/snapshots/detail", "snapshots", filters)

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await self.request("DELETE", f"/snapshots/{quote(snapshot_id, safe='')}")

    async def wait_snapshot(
        self, snapshot_id: str, status: str = "available", *, timeout: float = 300
    ) -> Json:
        return await self._wait(lambda: self.get_snapshot(snapshot_id), status, timeout, 0.2)

    # -- attachments -----------------------------------------------------------------

    async def create_attachment(
        self,
        volume_id: str,
        *,
        instance_uuid: str | None = None,
        connector: Json | None = None,
        mode: str | None = None,
    ) -> Json:
        body: Json = {"volume_uuid": volume_id}
        for key, value in (
            ("instance_uuid", instance_uuid),
            ("connector", connector),
            ("mode", mode),
        ):
            if value is not None:
                body[key] = value
        return (await self.request("POST", "/attachments", {"attachment": body}))["attachment"]

    async def update_attachment(self, attachment_id: str, connector: Json) -> Json:
        path = f"/attachments/{quote(attachment_id, safe='')}"
        body = {"attachment": {"connector": connector}}
        return (await self.request("PUT", path, body))["attachment"]

    async def complete_attachment(self, attachment_id: str) -> None:
        path = f"/attachments/{quote(attachment_id, safe='')}/action"
        await self.request("POST", path, {"os-complete": None})

    async def get_attachment(self, attachment_id: str) -> Json:
        path = f"/attachments/{quote(attachment_id, safe='')}"
        return (await self.request("GET", path))["attachment"]

    async def list_attachments(self, **filters: Any) -> list[Json]:
        return await self._pages("/attachments/detail", "attachments", filters)

    async def delete_attachment(self, attachment_id: str) -> list[Json]:
        path = f"/attachments/{quote(attachment_id, safe='')}"
        return (await self.request("DELETE", path))["attachments"]

    async def force_detach(self, volume_id: str, attachment_id: str | None = None) -> None:
        """os-force_detach (admin): end the attachment; a server holding it is updated."""
        args = {"attachment_id": attachment_id} if attachment_id else {}
        await self.volume_action(volume_id, "os-force_detach", args)

    async def attach(
        self,
        volume_id: str,
        initiator: str,
        *,
        instance_uuid: str | None = None,
        mode: str = "rw",
        host: str | None = None,
    ) -> Json:
        """Reserve, connect ``initiator`` and complete: the attachment with its connection info."""
        connector: Json = {"initiator": initiator, "multipath": False, "platform": "x86_64"}
        if host:
            connector["host"] = host
        att = await self.create_attachment(
            volume_id, instance_uuid=instance_uuid, connector=connector, mode=mode
        )
        try:
            await self.complete_attachment(att["id"])
        except BaseException:
            await self.delete_attachment(att["id"])
            raise
        att["status"] = "attached"
        return att

    # -- backups ---------------------------------------------------------------------

    async def create_backup(
        self, volume_id: str, *, incremental: bool = False, force: bool = False, **fields: Any
    ) -> Json:
        body = {"volume_id": volume_id, "incremental": incremental, "force": force, **fields}
        return (await self.request("POST", "/backups", {"backup": body}))["backup"]

    async def get_backup(self, backup_id: str) -> Json:
        return (await self.request("GET", f"/backups/{quote(backup_id, safe='')}"))["backup"]

    async def list_backups(self, **filters: Any) -> list[Json]:
        return await self._pages("/backups/detail", "backups", filters)

    async def delete_backup(self, backup_id: str) -> None:
        await self.request("DELETE", f"/backups/{quote(backup_id, safe='')}")

    async def restore_backup(
        self, backup_id: str, *, volume_id: str | None = None, name: str | None = None
    ) -> Json:
        body = {k: v for k, v in (("volume_id", volume_id), ("name", name)) if v is not None}
        path = f"/backups/{quote(backup_id, safe='')}/restore"
        return (await self.request("POST", path, {"restore": body}))["restore"]

    async def verify_backup(self, backup_id: str) -> None:
        path = f"/backups/{quote(backup_id, safe='')}/action"
        await self.request("POST", path, {"os-verify": {}})

    async def wait_backup(
        self,
        backup_id: str,
        status: str | Iterable[str] = "available",
        *,
        timeout: float = 3600,
        interval: float = 0.3,
        on_poll: Callable[[Json], None] | None = None,
    ) -> Json:
        fetch = lambda: self.get_backup(backup_id)  # noqa: E731
        return await self._wait(fetch, status, timeout, interval, on_poll)

    # -- types, QoS, quotas ------------------------------------------------------------

    async def list_types(self) -> list[Json]:
        return (await self.request("GET", "/types"))["volume_types"]

    async def create_type(self, name: str, extra_specs: Json | None = None, **fields: Any) -> Json:
        body = {"name": name, "extra_specs": extra_specs or {}, **fields}
        return (await self.request("POST", "/types", {"volume_type": body}))["volume_type"]

    async def create_qos(self, name: str, specs: Json, consumer: str = "back-end") -> Json:
        body = {"name": name, "consumer": consumer, **specs}
        return (await self.request("POST", "/qos-specs", {"qos_specs": body}))["qos_specs"]

    async def associate_qos(self, qos_id: str, type_id: str) -> None:
        path = f"/qos-specs/{quote(qos_id, safe='')}/associate"
        await self.request("GET", path, params={"vol_type_id": type_id})

    async def limits(self) -> Json:
        return (await self.request("GET", "/limits"))["limits"]

    async def quotas(self, project: str | None = None, *, usage: bool = False) -> Json:
        path = f"/os-quota-sets/{quote(project or self.project, safe='')}"
        params = {"usage": "true"} if usage else None
        return (await self.request("GET", path, params=params))["quota_set"]

    async def set_quotas(self, project: str, **limits: int) -> Json:
        path = f"/os-quota-sets/{quote(project, safe='')}"
        return (await self.request("PUT", path, {"quota_set": limits}))["quota_set"]


def _error(resp: aiohttp.ClientResponse, raw: bytes) -> VolumeApiError:
    try:
        body = json.loads(raw)
        ((fault, detail),) = body.items()
        return VolumeApiError(resp.status, fault, str(detail.get("message", "")))
    except (ValueError, AttributeError, TypeError):
        return VolumeApiError(resp.status, "error", raw.decode("utf-8", "replace")[:300])
