"""Volume types with extra specs, and QoS specs with their type associations."""

from __future__ import annotations

from aiohttp import web

from blockstore.api import requests, views
from blockstore.api.context import ctx, flag, ok
from blockstore.manager.errors import BadRequest


async def handle_list_types(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"volume_types": [views.type_view(t) for t in c.types.list_types(c.caller)]})


async def handle_show_type(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"volume_type": views.type_view(c.types.get_type(c.caller, c.param("type_id")))})


async def handle_create_type(request: web.Request) -> web.Response:
    c = ctx(request)
    req = requests.TypeCreate.parse(await c.body("volume_type"))
    vt = await c.types.create_type(
        c.caller,
        req.name,
        description=req.description,
        extra_specs=req.extra_specs,
        is_public=req.is_public,
    )
    return ok({"volume_type": views.type_view(vt)})


async def handle_update_type(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = requests.Changes.parse(await c.body("volume_type"), "volume_type").given
    changes = {k: spec[k] for k in ("name", "description", "is_public") if k in spec}
    vt = await c.types.update_type(c.caller, c.param("type_id"), changes)
    return ok({"volume_type": views.type_view(vt)})


async def handle_delete_type(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.types.delete_type(c.caller, c.param("type_id"))
    return ok(status=202)


async def handle_show_extra_specs(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"extra_specs": c.types.get_type(c.caller, c.param("type_id")).extra_specs})


async def handle_set_extra_specs(request: web.Request) -> web.Response:
    c = ctx(request)
    specs = await c.body("extra_specs")
    vt = await c.types.update_type(c.caller, c.param("type_id"), {"extra_specs": specs})
    return ok({"extra_specs": vt.extra_specs})


async def handle_delete_extra_spec(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.types.delete_extra_spec(c.caller, c.param("type_id"), c.param("key"))
    return ok(status=202)


# -- QoS specs -------------------------------------------------------------------------


async def handle_list_qos(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"qos_specs": [views.qos_view(q) for q in c.types.list_qos(c.caller)]})


async def handle_show_qos(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok({"qos_specs": views.qos_view(c.types.get_qos(c.caller, c.param("qos_id")))})


async def handle_create_qos(request: web.Request) -> web.Response:
    """Cinder's body: ``{"qos_specs": {"name": ..., "consumer": ..., <key>: <value>...}}``."""
    c = ctx(request)
    req = requests.QosCreate.parse(await c.body("qos_specs"))
    qos = await c.types.create_qos(c.caller, req.name, req.consumer, req.specs)
    return ok({"qos_specs": views.qos_view(qos)})


async def handle_update_qos(request: web.Request) -> web.Response:
    c = ctx(request)
    spec = await c.body("qos_specs")
    qos = await c.types.update_qos(c.caller, c.param("qos_id"), spec)
    return ok({"qos_specs": qos.specs})


async def handle_unset_qos_keys(request: web.Request) -> web.Response:
    """``{"keys": [...]}``: what ``openstack volume qos unset --property`` sends."""
    c = ctx(request)
    keys = await c.body("keys")
    await c.types.unset_qos_keys(c.caller, c.param("qos_id"), keys)
    return ok(status=202)


async def handle_delete_qos(request: web.Request) -> web.Response:
    c = ctx(request)
    await c.types.delete_qos(c.caller, c.param("qos_id"), force=flag(c.query.get("force")))
    return ok(status=202)


async def handle_associate_qos(request: web.Request) -> web.Response:
    c = ctx(request)
    type_ref = c.query.get("vol_type_id")
    if not type_ref:
        raise BadRequest("Invalid input received: vol_type_id is required.")
    associate = request.path.endswith("/associate")
    await c.types.associate_qos(c.caller, c.param("qos_id"), type_ref, associate=associate)
    return ok(status=202)


async def handle_qos_associations(request: web.Request) -> web.Response:
    c = ctx(request)
    types = c.types.qos_associations(c.caller, c.param("qos_id"))
    return ok(
        {
            "qos_associations": [
                {"association_type": "volume_type", "name": t.name, "id": t.id} for t in types
            ]
        }
    )


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    t = f"{prefix}/types"
    router.add_get(t, handle_list_types)
    router.add_post(t, handle_create_type)
    router.add_get(f"{t}/{{type_id}}", handle_show_type)
    router.add_put(f"{t}/{{type_id}}", handle_update_type)
    router.add_delete(f"{t}/{{type_id}}", handle_delete_type)
    router.add_get(f"{t}/{{type_id}}/extra_specs", handle_show_extra_specs)
    router.add_post(f"{t}/{{type_id}}/extra_specs", handle_set_extra_specs)
    router.add_delete(f"{t}/{{type_id}}/extra_specs/{{key}}", handle_delete_extra_spec)
    q = f"{prefix}/qos-specs"
    router.add_get(q, handle_list_qos)
    router.add_post(q, handle_create_qos)
    router.add_get(f"{q}/{{qos_id}}", handle_show_qos)
    router.add_put(f"{q}/{{qos_id}}", handle_update_qos)
    router.add_delete(f"{q}/{{qos_id}}", handle_delete_qos)
    router.add_put(f"{q}/{{qos_id}}/delete_keys", handle_unset_qos_keys)
    router.add_get(f"{q}/{{qos_id}}/associate", handle_associate_qos)
    router.add_get(f"{q}/{{qos_id}}/disassociate", handle_associate_qos)
    router.add_get(f"{q}/{{qos_id}}/associations", handle_qos_associations)
