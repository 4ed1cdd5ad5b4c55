"""JSON calls to the OpenStack-shaped APIs (volume, compute, image, network) as the viewer.

The sections for volumes and compute use these instead of their own HTTP
code: the viewer's token goes in ``X-Auth-Token`` (through
:meth:`Services.call`), so each API applies its own rules; an error becomes
a :class:`ServiceError` and the console's error page. :func:`try_json` is for
side lists (servers to attach to, images to start from) that a page can do
without when their service is down or lacks the endpoint.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from .auth import viewer
from .services import SERVICES, ServiceError, answered

VOLUME_MICROVERSION = "volume 3.66"  # attachments (3.27+) and what blockstore.client sends


async def api_json(
    request: web.Request,
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Any:
    """One call with the viewer's token; the decoded answer (None when empty)."""
    api = request.app[SERVICES].client("", viewer(request).session.token)
    with answered("the service"):
        try:
            return await api.request(method, url, body, params, headers)
        except ValueError:  # the answer (never the body sent: plain JSON from the pages)
            raise ServiceError(502, "the service answered something that is not JSON") from None


async def try_json(request: web.Request, url: str, key: str) -> list[dict[str, Any]]:
    """``GET url`` → its ``key`` list, or [] when that service cannot give it now."""
    try:
        answer = await api_json(request, "GET", url)
    except ServiceError:
        return []
    found = answer.get(key) if isinstance(answer, dict) else None
    return [x for x in found if isinstance(x, dict)] if isinstance(found, list) else []


def volume_base(request: web.Request) -> str:
    """``http://host:port/v3/<project>`` of the viewer's project."""
    project = viewer(request).principal.project
    return f"{request.app[SERVICES].endpoints.volume}/v3/{quote(project, safe='')}"


async def volume_api(request: web.Request, method: str, path: str, body: Any = None) -> Any:
    """The volume API (Cinder v3 shapes) at ``path`` under the viewer's project."""
    headers = {"OpenStack-API-Version": VOLUME_MICROVERSION}
    return await api_json(request, method, volume_base(request) + path, body, headers=headers)


def compute_url(request: web.Request, path: str) -> str:
    return f"{request.app[SERVICES].endpoints.compute}/v2.1{path}"


def image_url(request: web.Request, path: str) -> str:
    return f"{request.app[SERVICES].endpoints.image}/v2{path}"


def network_url(request: web.Request, path: str) -> str:
    return f"{request.app[SERVICES].endpoints.network}/v2.0{path}"


def ident(value: str) -> str:
    """A resource id from a URL or a form: short and plain (it goes into API paths)."""
    if not value or len(value) > 64 or not all(c.isalnum() or c in "-_." for c in value):
        raise web.HTTPBadRequest(text="not an id")
    return value


def form_int(value: Any, low: int, high: int, what: str) -> int:
    """An integer form field in [low, high], or 400 naming the field."""
    try:
        n = int(str(value).strip())
    except ValueError:
        raise web.HTTPBadRequest(text=f"{what} must be a whole number") from None
    if not low <= n <= high:
        raise web.HTTPBadRequest(text=f"{what} must be between {low} and {high}")
    return n


def form_text(value: Any, limit: int = 255) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit or "\x00" in text:
        raise web.HTTPBadRequest(text="a text field is too long")
    return text


# The console's whole configuration (set by make_app): the cluster page reads data_dir.
CONFIG: web.AppKey[Any] = web.AppKey("console_config", object)
