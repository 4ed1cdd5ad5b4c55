"""The metadata service guests reach at http://169.254.169.254/ (OpenStack and EC2 paths).

The networks' nftables table redirects a guest's request for
169.254.169.254:80 arriving on its bridge to this service on that subnet's
gateway address (``networks.nat``). Who asks is decided the way Neutron's
metadata proxy decides it: by where the connection arrived (the gateway
address names the subnet, hence the network) and the source address (the
port holding it on that subnet), never by anything the guest sends, such as
a header. The port's ``device_id`` is its server; an address that no server's
port holds gets 404.

Served: ``/openstack/<version>/meta_data.json``, ``user_data``,
``network_data.json``, ``vendor_data.json``, and the EC2-style
``/<version>/meta-data/...`` and ``/<version>/user-data``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from compute_glue.networks.manager import COMPUTE_OWNER, NetworkManager
from compute_glue.networks.model import Port

log = logging.getLogger("compute_glue.networks.metadata")

OPENSTACK_VERSIONS = (
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "2020-10-14",
    "latest",
)
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2008-02-01", "2009-04-04", "latest")
EC2_KEYS = (
    "ami-id",
    "ami-launch-index",
    "hostname",
    "instance-id",
    "instance-type",
    "local-hostname",
    "local-ipv4",
    "placement/",
    "public-hostname",
    "reservation-id",
    "security-groups",
)


@dataclass(frozen=True)
class Instance:
    """What the metadata service tells a server about itself."""

    id: str
    name: str
    project: str
    flavor: str = ""
    image_id: str = ""
    user_data: str | None = None  # base64, as Nova received it
    metadata: dict[str, str] = field(default_factory=dict)


Lookup = Callable[[str], Instance | None]
NETWORKS: web.AppKey[NetworkManager] = web.AppKey("networks", NetworkManager)
LOOKUP: web.AppKey[Any] = web.AppKey("lookup", object)


def hostname(name: str) -> str:
    """Nova's sanitised host name: lower-case letters, digits and hyphens."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return text[:63] or "server"


@dataclass(frozen=True)
class Caller:
    instance: Instance
    port: Port
    address: str


def _caller(request: web.Request) -> Caller:
    """The server asking, from the connection's addresses alone."""
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not sock or not peer:
        raise web.HTTPNotFound()
    manager = request.app[NETWORKS]
    port = manager.port_by_address(sock[0], peer[0])
    if port is None or port.device_owner != COMPUTE_OWNER or not port.device_id:
        log.info("metadata request from %s (to %s) matches no server", peer[0], sock[0])
        raise web.HTTPNotFound()
    instance = request.app[LOOKUP](port.device_id)
    if instance is None:
        raise web.HTTPNotFound()
    return Caller(instance, port, peer[0])


def _text(lines: Any) -> web.Response:
    return web.Response(text="\n".join(lines), content_type="text/plain")


def _json(data: Any) -> web.Response:
    return web.Response(text=json.dumps(data), content_type="application/json")


def meta_data(c: Caller) -> dict[str, Any]:
    i = c.instance
    return {
        "uuid": i.id,
        "name": i.name,
        "hostname": hostname(i.name),
        "launch_index": 0,
        "availability_zone": "nova",
        "project_id": i.project,
        "meta": dict(i.metadata),
        "public_keys": {},
        "keys": [],
        "devices": [],
        "random_seed": base64.b64encode(secrets.token_bytes(512)).decode(),
    }


def network_data(manager: NetworkManager, c: Caller) -> dict[str, Any]:
    """Nova's network_data.json for the server's ports (DHCP subnets as ``ipv4_dhcp``)."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    ports = [p for p in manager.list_all(None, "ports") if p.device_id == c.instance.id]
    for port in sorted(ports, key=lambda p: p.created_at):
        net = manager.get_network(None, port.network_id)
        link = f"tap{port.id[:11]}"
        links.append(
            {
                "id": link,
                "vif_id": port.id,
                "type": "tap",
                "ethernet_mac_address": port.mac_address,
                "mtu": net.mtu,
            }
        )
        for n, fixed in enumerate(port.fixed_ips):
            sub = manager.get_subnet(None, fixed["subnet_id"])
            entry: dict[str, Any] = {
                "id": f"network{len(networks)}",
                "link": link,
                "network_id": port.network_id,
                "type": "ipv4_dhcp" if sub.enable_dhcp else "ipv4",
            }
            if not sub.enable_dhcp:
                entry["ip_address"] = fixed["ip_address"]
                entry["netmask"] = str(sub.net.netmask)
                entry["routes"] = (
                    [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": sub.gateway_ip}]
                    if sub.gateway_ip and n == 0
                    else []
                )
            networks.append(entry)
    return {"links": links, "networks": networks, "services": []}


def user_data(c: Caller) -> web.Response:
    if not c.instance.user_data:
        raise web.HTTPNotFound()
    return web.Response(
        body=base64.b64decode(c.instance.user_data), content_type="application/octet-stream"
    )


async def handle_root(request: web.Request) -> web.Response:
    _caller(request)
    return _text([*EC2_VERSIONS, "openstack"])


async def handle_openstack_versions(request: web.Request) -> web.Response:
    _caller(request)
    return _text(OPENSTACK_VERSIONS)


async def handle_openstack(request: web.Request) -> web.Response:
    version, item = request.match_info["version"], request.match_info.get("item", "")
    if version not in OPENSTACK_VERSIONS:
        raise web.HTTPNotFound()
    c = _caller(request)
    if item == "":
        return _text(["meta_data.json", "user_data", "network_data.json", "vendor_data.json"])
    if item == "meta_data.json":
        return _json(meta_data(c))
    if item == "user_data":
        return user_data(c)
    if item == "network_data.json":
        return _json(network_data(request.app[NETWORKS], c))
    if item in ("vendor_data.json", "vendor_data2.json"):
        return _json({})
    raise web.HTTPNotFound()


def ec2_values(c: Caller) -> dict[str, str]:
    i = c.instance
    host = hostname(i.name)
    return {
        "ami-id": i.image_id,
        "ami-launch-index": "0",
        "hostname": host,
        "instance-id": i.id,
        "instance-type": i.flavor,
        "local-hostname": host,
        "local-ipv4": c.address,
        "placement/": "availability-zone",
        "placement/availability-zone": "nova",
        "public-hostname": host,
        "reservation-id": f"r-{i.id[:8]}",
        "security-groups": "default",
    }


async def handle_ec2(request: web.Request) -> web.Response:
    version, rest = request.match_info["version"], request.match_info.get("rest", "")
    if version not in EC2_VERSIONS:
        raise web.HTTPNotFound()
    c = _caller(request)
    if rest in ("", "/"):
        return _text(["meta-data/", "user-data"])
    if rest.strip("/") == "user-data":
        return user_data(c)
    if not rest.startswith("meta-data"):
        raise web.HTTPNotFound()
    key = rest.removeprefix("meta-data").strip("/")
    if key == "":
        return _text(EC2_KEYS)
    value = ec2_values(c).get(key if key != "placement" else "placement/")
    if value is None:
        raise web.HTTPNotFound()
    return _text([value])


def make_app(manager: NetworkManager, lookup: Lookup) -> web.Application:
    app = web.Application()
    app[NETWORKS] = manager
    app[LOOKUP] = lookup
    r = app.router
    r.add_get("/", handle_root)
    r.add_get("/openstack", handle_openstack_versions)
    r.add_get("/openstack/", handle_openstack_versions)
    r.add_get("/openstack/{version}", handle_openstack)
    r.add_get("/openstack/{version}/", handle_openstack)
    r.add_get("/openstack/{version}/{item}", handle_openstack)
    r.add_get("/{version}", handle_ec2)
    r.add_get("/{version}/{rest:.*}", handle_ec2)
    return app
