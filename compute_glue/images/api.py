"""The image API: Glance v2 over aiohttp.

``make_app(store, access, identity, settings)`` serves ``/v2/images`` and
``/v2/images/{id}/file`` (plus tags, schemas and the version document). A
token from identity (``X-Auth-Token``) is required under ``/v2``; every
lookup is scoped by visibility, so another project's private image is
simply not found. Errors use Glance's JSON error form.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web

from compute_glue import httpkit
from compute_glue.errors import BadRequest, Conflict, Forbidden, UnsupportedMedia
from compute_glue.images import data
from compute_glue.images.data import DataSettings
from compute_glue.images.model import (
    STATUSES,
    Image,
    apply,
    check_tags,
    image_create,
    image_patch,
    patch_list,
)
from compute_glue.images.store import TABLE, ImageStore
from compute_glue.metrics import by_status
from compute_glue.objects import ObjectAccess
from stratus.http import requestid
from stratus.identity import IdentityStore, Principal
from stratus.metrics import ServiceMetrics

log = logging.getLogger("compute_glue.images.api")
STORE: web.AppKey[ImageStore] = web.AppKey("store", ImageStore)
ACCESS: web.AppKey[ObjectAccess] = web.AppKey("access", ObjectAccess)
SETTINGS: web.AppKey[DataSettings] = web.AppKey("settings", DataSettings)
MAX_MINOR = 9  # Glance v2.9: the image API this service's shapes follow
PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")  # fmt: skip


def render_error(status: int, kind: str, message: str) -> web.Response:
    """Glance's JSON error body."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else kind
    body = {"code": f"{status} {title}", "title": title, "message": message}
    return web.json_response(body, status=status)


def _who(request: web.Request) -> Principal:
    return httpkit.principal(request)


def _check_writer(who: Principal) -> None:
    if not who.can_write:
        raise Forbidden("Your role may not change images.")


async def handle_versions(request: web.Request) -> web.Response:
    """Glance's list: the current minor version first, then every older v2 minor it still serves."""
    links = [{"rel": "self", "href": f"{request.scheme}://{request.host}/v2/"}]
    docs = [
        {"id": f"v2.{minor}", "status": "CURRENT" if minor == MAX_MINOR else "SUPPORTED",
         "links": links}
        for minor in range(MAX_MINOR, -1, -1)
    ]  # fmt: skip
    return web.json_response({"versions": docs}, status=300 if request.path == "/" else 200)


async def handle_healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def handle_schema(request: web.Request) -> web.Response:
    props: dict[str, Any] = {k: {"type": "string"} for k in ("id", "name", "status", "checksum")}
    props["visibility"] = {"enum": ["public", "private"]}
    props["disk_format"] = {"enum": [None, "raw", "qcow2", "aki", "ari"]}
    props["container_format"] = {"enum": [None, "bare", "aki", "ari"]}
    schema = {"name": "image", "properties": props, "additionalProperties": {"type": "string"}}
    if request.match_info.get("plural"):
        schema = {"name": "images", "properties": {"images": {"items": schema}}}
    return web.json_response(schema)


async def handle_create_image(request: web.Request) -> web.Response:
    who = _who(request)
    _check_writer(who)
    req = image_create(await httpkit.read_json(request), admin=who.is_reseller_admin)
    store = request.app[STORE]
    img = store.create(req.image(who.project, who.user, store.clock()))
    log.info("image %s created by %s", img.id, who.name)
    return web.json_response(img.view(), status=201, headers={"Location": f"/v2/images/{img.id}"})


async def handle_list_images(request: web.Request) -> web.Response:
    who = _who(request)
    query = request.query
    tags = query.getall("tag", [])
    images, more = request.app[STORE].list(who, dict(query), tags)
    out: dict[str, Any] = {
        "images": [i.view() for i in images],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    if more:
        out["next"] = f"/v2/images?marker={images[-1].id}&limit={len(images)}"
    return web.json_response(out)


async def handle_show_image(request: web.Request) -> web.Response:
    img = request.app[STORE].get(request.match_info["image_id"], _who(request))
    return web.json_response(img.view())


async def handle_update_image(request: web.Request) -> web.Response:
    who = _who(request)
    _check_writer(who)
    if request.content_type not in PATCH_TYPES:
        raise UnsupportedMedia(f"PATCH needs Content-Type {PATCH_TYPES[0]}.")
    body = patch_list(await httpkit.read_json(request))
    store = request.app[STORE]
    store.get_own(request.match_info["image_id"], who)  # 404 or 403 before the operations
    ops = image_patch(body)

    def change(img: Image) -> None:
        apply(img, ops, admin=who.is_reseller_admin)

    img = store.update(request.match_info["image_id"], change)
    return web.json_response(img.view())


async def handle_delete_image(request: web.Request) -> web.Response:
    who = _who(request)
    _check_writer(who)
    store = request.app[STORE]
    img = store.get_own(request.match_info["image_id"], who)
    if img.protected:
        raise Forbidden(f"Image {img.id} is protected and cannot be deleted.")

    def doom(i: Image) -> None:
        i.status = "pending_delete"

    img = store.update(img.id, doom)
    try:
        await data.delete_data(request.app[ACCESS], request.app[SETTINGS], img)
    except Exception as exc:  # reaped at the next start
        log.warning("image %s: object not deleted yet (%s)", img.id, exc)
        return web.Response(status=204)
    store.remove(img.id)
    log.info("image %s deleted by %s", img.id, who.name)
    return web.Response(status=204)


async def handle_upload(request: web.Request) -> web.Response:
    who = _who(request)
    _check_writer(who)
    if request.content_type != "application/octet-stream":
        raise UnsupportedMedia("Image data needs Content-Type application/octet-stream.")
    store = request.app[STORE]
    img = store.get_own(request.match_info["image_id"], who)
    if img.status != "queued":
        raise Conflict(f"Image {img.id} is {img.status}: data can be uploaded only once.")
    await data.upload(
        store,
        request.app[ACCESS],
        request.app[SETTINGS],
        img,
        request.content.iter_chunked(data.CHUNK),
        request.content_length,
    )
    return web.Response(status=204)


async def handle_download(request: web.Request) -> web.StreamResponse:
    img = request.app[STORE].get(request.match_info["image_id"], _who(request))
    return await data.download(request, request.app[ACCESS], request.app[SETTINGS], img)


async def handle_tag(request: web.Request) -> web.Response:
    who = _who(request)
    _check_writer(who)
    store = request.app[STORE]
    image_id, tag = request.match_info["image_id"], request.match_info["tag"]
    store.get_own(image_id, who)

    def change(img: Image) -> None:
        if request.method == "PUT":
            img.tags = check_tags([*img.tags, tag])
        elif tag in img.tags:
            img.tags.remove(tag)
        else:
            raise BadRequest(f"Image {image_id} has no tag {tag[:64]!r}.")

    store.update(image_id, change)
    return web.Response(status=204)


def make_app(
    store: ImageStore, access: ObjectAccess, identity: IdentityStore, settings: DataSettings
) -> web.Application:
    """The aiohttp application of the image API."""
    app = web.Application(
        client_max_size=httpkit.MAX_JSON,
        middlewares=[
            httpkit.error_middleware(render_error),
            httpkit.auth_middleware(lambda path: path.startswith("/v2/images")),
        ],
    )
    app[STORE] = store
    app[ACCESS] = access
    app[SETTINGS] = settings
    app[httpkit.IDENTITY] = identity
    app.on_response_prepare.append(requestid.stamp)
    r = app.router
    r.add_get("/", handle_versions)
    r.add_get("/versions", handle_versions)
    r.add_get("/healthcheck", handle_healthcheck)
    metrics = ServiceMetrics().install(app, "image")
    statuses = by_status(lambda: store.records, TABLE, STATUSES)
    metrics.gauge("stratus_images", "Images by status.", ["status"], statuses)
    r.add_get("/v2/schemas/image", handle_schema)
    r.add_get("/v2/schemas/{plural:images}", handle_schema)
    r.add_post("/v2/images", handle_create_image)
    r.add_get("/v2/images", handle_list_images)
    r.add_get("/v2/images/{image_id}", handle_show_image)
    r.add_patch("/v2/images/{image_id}", handle_update_image)
    r.add_delete("/v2/images/{image_id}", handle_delete_image)
    r.add_put("/v2/images/{image_id}/file", handle_upload)
    r.add_get("/v2/images/{image_id}/file", handle_download)
    r.add_put("/v2/images/{image_id}/tags/{tag}", handle_tag)
    r.add_delete("/v2/images/{image_id}/tags/{tag}", handle_tag)
    return app
