"""What every handler gets: the volume services, the caller, the base URL, the parsed body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from blockstore.api.errors import ApiError
from blockstore.manager.core import Caller, must_write
from blockstore.manager.errors import BadRequest

if TYPE_CHECKING:
    from blockstore.backup.ops import Backups
    from blockstore.manager.attachments import Attachments
    from blockstore.manager.quotaops import Quotas
    from blockstore.manager.snapshots import Snapshots
    from blockstore.manager.types import VolumeTypes
    from blockstore.manager.volumes import Volumes
    from blockstore.services import VolumeServices

MANAGER: web.AppKey[Any] = web.AppKey("manager", object)
IDENTITY: web.AppKey[Any] = web.AppKey("identity", object)
COMPUTE_URL: web.AppKey[str] = web.AppKey("compute_url", str)
CTX: web.RequestKey[Any] = web.RequestKey("ctx", object)


@dataclass
class Ctx:
    """One authenticated API request."""

    request: web.Request
    manager: VolumeServices
    caller: Caller
    base: str
    # The microversion the request asked for (``OpenStack-API-Version: volume 3.x``).
    version: tuple[int, int] = (3, 0)

    def at_least(self, major: int, minor: int) -> bool:
        return self.version >= (major, minor)

    # The service each handler calls.
    @property
    def volumes(self) -> Volumes:
        return self.manager.volumes

    @property
    def snapshots(self) -> Snapshots:
        return self.manager.snapshots

    @property
    def attachments(self) -> Attachments:
        return self.manager.attachments

    @property
    def backups(self) -> Backups:
        return self.manager.backups

    @property
    def types(self) -> VolumeTypes:
        return self.manager.types

    @property
    def quotas(self) -> Quotas:
        return self.manager.quotas

    @property
    def project(self) -> str:
        return self.caller.project

    @property
    def max_volume_gb(self) -> int:
        """The largest volume (GiB) the service makes, for parsing sizes at the edge."""
        return self.volumes.ctx.settings.max_volume_gb

    def must_write(self) -> None:
        """Refuse a reader (403) before its body's values are parsed (400), as Cinder does."""
        must_write(self.caller)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query)

    def param(self, name: str) -> str:
        return self.request.match_info[name]

    async def body(self, key: str | None = None, *, required: bool = True) -> Any:
        """The JSON body (or its ``key`` element), refusing what is not JSON."""
        raw = await self.request.read()
        if not raw:
            if required:
                raise BadRequest("The request body is empty; JSON was expected.")
            return {} if key is None else None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("Malformed request body: not valid JSON.") from None
        if key is None:
            return data
        if not isinstance(data, dict) or key not in data:
            if not required:
                return None
            raise BadRequest(f"Missing required element '{key}' in request body.")
        return data[key]


def ctx(request: web.Request) -> Ctx:
    found = request.get(CTX)
    if found is None:
        raise ApiError(401, "The request you have made requires authentication.")
    return found


def ok(data: Any = None, status: int = 200) -> web.Response:
    if data is None:
        return web.Response(status=status)
    return web.json_response(data, status=status)


def flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")
