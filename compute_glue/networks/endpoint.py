"""The network (Neutron) endpoint: its own address (``network.host:network.port``, 9696).

``GET /`` is Neutron's version document (openstacksdk discovers the API
from it), ``/v2.0`` the network API of :mod:`compute_glue.networks.api`.
The compute service serves this app next to its own, over the same
records, since servers plug into the networks it holds.
"""

from __future__ import annotations

from aiohttp import web

from compute_glue import httpkit
from compute_glue.metrics import by_table
from compute_glue.networks import api as network_api
from compute_glue.networks.manager import NetworkManager
from stratus.http import requestid
from stratus.identity import IdentityStore
from stratus.metrics import ServiceMetrics


async def handle_versions(request: web.Request) -> web.Response:
    """Neutron's version list (200, not 300: that is what Neutron answers)."""
    href = f"{request.scheme}://{request.host}/v2.0/"
    version = {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}
    return web.json_response({"versions": [version]})


async def handle_healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


def make_app(manager: NetworkManager, identity: IdentityStore) -> web.Application:
    # Request ids (and no traceback) on the root's own answers too; its 404s stay aiohttp's.
    root_errors = httpkit.error_middleware(network_api.render_error, http_errors=False)
    app = web.Application(middlewares=[root_errors])
    app.on_response_prepare.append(requestid.stamp)
    app.router.add_get("/", handle_versions)
    app.router.add_get("/healthcheck", handle_healthcheck)
    metrics = ServiceMetrics().install(app, "network")
    counts = by_table(lambda: manager.records, ("networks", "subnets", "ports"))
    metrics.gauge("stratus_network_records", "Networks, subnets and ports.", ["kind"], counts)
    app.add_subapp("/v2.0", network_api.make_app(manager, identity))
    return app
