"""The network endpoint of the compute service (its own port): Neutron's shapes, errors and DHCP.

The whole compute service runs (``compute_glue.service.running``) with a
prefix of its own; requests are raw HTTP, so statuses and bodies are what
a client sees. DHCP is exercised for real: a veth end in a network
namespace, plugged into the network's bridge with a port's MAC, asks the
network's dnsmasq with busybox ``udhcpc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from compute_glue import service as compute_service
from compute_glue.networks import dhcp, nat
from compute_glue.networks.netlink import HostNet
from stratus.config import Config
from stratus.identity import AlreadyExists, IdentityStore, identity_dir
from tests.functional.compute_glue.networks.conftest import need_net_admin, unique_prefix
from tests.helpers.net import free_port
from tests.helpers.tools import missing_tool


class Neutron:
    def __init__(self, cfg: Config, session: aiohttp.ClientSession) -> None:
        self.cfg = cfg
        self.url = f"http://127.0.0.1:{cfg.network.port}"
        self.session = session
        self.identity = IdentityStore(identity_dir(cfg.data.dir))
        self.service: Any = None

    def token(self, project: str) -> str:
        with contextlib.suppress(AlreadyExists):
            self.identity.create_project(project)
        with contextlib.suppress(AlreadyExists):
            self.identity.create_user(project, "user", role="member")
        return self.identity.issue_token(project, "user", 3600)[0]

    async def call(
        self, method: str, path: str, project: str | None = "alpha", body: Any = None
    ) -> tuple[int, Any]:
        headers = {"X-Auth-Token": self.token(project)} if project else {}
        async with self.session.request(
            method, self.url + path, json=body, headers=headers
        ) as resp:
            text = await resp.text()
            return resp.status, (await resp.json(content_type=None) if text else None)


@pytest.fixture
async def neutron(tmp_path: Path) -> AsyncIterator[Neutron]:
    need_net_admin()
    cfg = Config()
    cfg.data.dir = str(tmp_path)
    cfg.compute.port, cfg.network.port = free_port(), free_port()
    cfg.network.ifname_prefix = unique_prefix()
    cfg.validate()
    async with aiohttp.ClientSession() as session:
        n = Neutron(cfg, session)
        try:
            async with compute_service.running(cfg) as svc:
                n.service = svc
                yield n
        finally:
            n.identity.close()
            host = HostNet()
            left = await host.links(cfg.network.ifname_prefix)
            for name in sorted(left, key=lambda k: left[k]["kind"] == "bridge"):
                await host.delete(name)
            await nat.remove(cfg.network.ifname_prefix)
            dhcp.stop_all(cfg.network.ifname_prefix)


def neutron_error(body: Any, kind: str) -> None:
    assert set(body) == {"NeutronError"}, body
    err = body["NeutronError"]
    assert err["type"] == kind and err["message"] and err["detail"] == "", body


async def test_version_document_extensions_and_security_groups(neutron: Neutron) -> None:
    status, doc = await neutron.call("GET", "/", project=None)
    assert status == 200
    (version,) = doc["versions"]
    assert version["id"] == "v2.0" and version["status"] == "CURRENT"
    assert version["links"][0]["href"] == f"{neutron.url}/v2.0/"

    status, body = await neutron.call("GET", "/v2.0/networks", project=None)
    assert status == 401

    status, body = await neutron.call("GET", "/v2.0/extensions")
    assert status == 200
    aliases = {e["alias"] for e in body["extensions"]}
    assert {"security-group", "binding", "net-mtu", "project-id"} <= aliases
    status, body = await neutron.call("GET", "/v2.0/extensions/security-group")
    assert status == 200 and body["extension"]["alias"] == "security-group"
    status, body = await neutron.call("GET", "/v2.0/extensions/router")
    assert status == 404
    neutron_error(body, "HTTPNotFound")

    status, body = await neutron.call("GET", "/v2.0/security-groups")
    (group,) = body["security_groups"]
    assert status == 200 and group["name"] == "default"
    rules = group["security_group_rules"]
    assert {(r["direction"], r["ethertype"]) for r in rules} == {
        ("egress", "IPv4"),
        ("egress", "IPv6"),
        ("ingress", "IPv4"),
        ("ingress", "IPv6"),
    }
    assert all(r["remote_group_id"] == group["id"] for r in rules if r["direction"] == "ingress")
    status, body = await neutron.call("GET", "/v2.0/security-groups?name=default")
    assert [g["id"] for g in body["security_groups"]] == [group["id"]]
    status, body = await neutron.call("GET", f"/v2.0/security-groups/{group['id']}")
    assert status == 200 and body["security_group"]["id"] == group["id"]
    status, body = await neutron.call("GET", f"/v2.0/security-groups/{group['id']}", "beta")
    assert status == 404
    neutron_error(body, "SecurityGroupNotFound")
    status, body = await neutron.call("GET", f"/v2.0/security-group-rules/{rules[0]['id']}")
    assert status == 200 and body["security_group_rule"]["id"] == rules[0]["id"]


async def test_networks_subnets_ports_statuses_and_errors(neutron: Neutron) -> None:
    status, body = await neutron.call("POST", "/v2.0/networks", body={"network": {"name": "n1"}})
    assert status == 201
    net = body["network"]
    assert net["status"] == "ACTIVE" and net["project_id"] == net["tenant_id"] == "alpha"
    spec = {"network_id": net["id"], "cidr": "10.217.3.0/24", "ip_version": 4}
    status, body = await neutron.call("POST", "/v2.0/subnets", body={"subnet": spec})
    assert status == 201, body
    sub = body["subnet"]
    assert sub["enable_dhcp"] is True and sub["gateway_ip"] == "10.217.3.1"

    status, body = await neutron.call(
        "POST", "/v2.0/ports", body={"port": {"network_id": net["id"], "name": "p1"}}
    )
    assert status == 201
    port = body["port"]
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.217.3.2"}]
    assert port["status"] == "DOWN" and port["mac_address"].startswith("fa:16:3e:")
    assert len(port["security_groups"]) == 1

    status, body = await neutron.call("GET", f"/v2.0/ports?network_id={net['id']}")
    assert [p["id"] for p in body["ports"]] == [port["id"]]
    status, body = await neutron.call("GET", "/v2.0/networks?name=n1")
    assert [n["id"] for n in body["networks"]] == [net["id"]]
    assert body["networks"][0]["subnets"] == [sub["id"]]

    # Another project sees nothing of it, and is told so Neutron's way.
    status, body = await neutron.call("GET", f"/v2.0/networks/{net['id']}", "beta")
    assert status == 404
    neutron_error(body, "NetworkNotFound")
    status, body = await neutron.call("GET", "/v2.0/networks", "beta")
    assert body == {"networks": []}
    status, body = await neutron.call("DELETE", f"/v2.0/ports/{port['id']}", "beta")
    assert status == 404
    neutron_error(body, "PortNotFound")

    status, body = await neutron.call("POST", "/v2.0/subnets", body={"subnet": {**spec}})
    assert status == 409
    neutron_error(body, "InvalidInput")
    status, body = await neutron.call("POST", "/v2.0/networks", body={"network": {"bogus": 1}})
    assert status == 400
    neutron_error(body, "HTTPBadRequest")
    status, body = await neutron.call("DELETE", f"/v2.0/networks/{net['id']}")
    assert status == 409
    neutron_error(body, "NetworkInUse")

    status, _ = await neutron.call("DELETE", f"/v2.0/ports/{port['id']}")
    assert status == 204
    status, _ = await neutron.call("DELETE", f"/v2.0/networks/{net['id']}")
    assert status == 204
    status, body = await neutron.call("GET", f"/v2.0/networks/{net['id']}")
    assert status == 404


def _ns(name: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", name, *argv], capture_output=True, text=True, timeout=timeout
    )


MD = "http://169.254.169.254"
UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] && echo "LEASE $ip/$mask router=$router mtu=$mtu"
exit 0
"""


async def test_dhcp_gives_each_port_its_address(neutron: Neutron, tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    if busybox is None or shutil.which(neutron.cfg.network.dnsmasq) is None:
        missing_tool("busybox and dnsmasq (Debian packages busybox-static, dnsmasq-base)")
    _, body = await neutron.call("POST", "/v2.0/networks", body={"network": {"mtu": 1400}})
    net = body["network"]
    spec = {"network_id": net["id"], "cidr": "10.217.4.0/24"}
    await neutron.call("POST", "/v2.0/subnets", body={"subnet": spec})
    mac = "fa:16:3e:12:34:56"
    fixed = [{"ip_address": "10.217.4.77"}]
    status, body = await neutron.call(
        "POST", "/v2.0/ports", body={"port": {"network_id": net["id"], "mac_address": mac,
                                               "fixed_ips": fixed}}
    )  # fmt: skip
    assert status == 201
    port = body["port"]
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)

    ns, host_end = (
        f"{neutron.cfg.network.ifname_prefix}ns",
        f"{neutron.cfg.network.ifname_prefix}v0",
    )
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(
            ["ip", "link", "add", host_end, "type", "veth", "peer", "name", "g0", "netns", ns],
            check=True,
        )
        subprocess.run(["ip", "link", "set", host_end, "master", net["stratus:bridge"], "up"],
                       check=True)  # fmt: skip
        _ns(ns, "ip", "link", "set", "g0", "address", mac, "up")

        def ask() -> str:
            argv = ["udhcpc", "-i", "g0", "-q", "-n", "-t", "5", "-T", "1", "-O", "mtu"]
            out = _ns(ns, busybox, *argv, "-s", str(script))
            return out.stdout + out.stderr

        got = await asyncio.to_thread(ask)
        assert "LEASE 10.217.4.77/24 router=10.217.4.1 mtu=1400" in got, got

        # The metadata address leads to the metadata service, which knows no server here.
        _ns(ns, "ip", "addr", "add", "10.217.4.77/24", "dev", "g0")
        _ns(ns, "ip", "route", "add", "default", "via", "10.217.4.1")
        wget = [busybox, "wget", "-q", "-O", "-", f"{MD}/latest/meta-data/instance-id"]
        out = await asyncio.to_thread(_ns, ns, *wget)  # the service runs on this loop
        assert out.returncode != 0 and "404" in out.stderr, out
        _ns(ns, "ip", "addr", "flush", "dev", "g0")
        # A MAC no port has gets nothing (static mode); the port's MAC gets nothing once
        # its port is gone.
        _ns(ns, "ip", "link", "set", "g0", "address", "fa:16:3e:00:00:99")
        assert "LEASE" not in await asyncio.to_thread(ask)
        _ns(ns, "ip", "link", "set", "g0", "address", mac)
        status, _ = await neutron.call("DELETE", f"/v2.0/ports/{port['id']}")
        assert status == 204
        assert "LEASE" not in await asyncio.to_thread(ask)
    finally:
        subprocess.run(["ip", "link", "del", host_end], check=False)
        subprocess.run(["ip", "netns", "del", ns], check=False)
    server = neutron.service.networks.dhcp
    assert server.pid(net["id"]) is not None
    status, _ = await neutron.call("DELETE", f"/v2.0/networks/{net['id']}")
    assert status == 204
    assert server.pid(net["id"]) is None and server.networks() == []


async def test_quotas_are_unlimited_with_real_usage_and_read_only(neutron: Neutron) -> None:
    status, body = await neutron.call("POST", "/v2.0/networks", body={"network": {"name": "q"}})
    net = body["network"]["id"]
    spec = {"subnet": {"network_id": net, "cidr": "10.77.0.0/24", "ip_version": 4}}
    assert (await neutron.call("POST", "/v2.0/subnets", body=spec))[0] == 201
    assert (await neutron.call("POST", "/v2.0/ports", body={"port": {"network_id": net}}))[0] == 201
    status, body = await neutron.call("GET", "/v2.0/quotas/alpha")
    assert status == 200
    assert body["quota"] == dict.fromkeys(
        ("network", "subnet", "port", "router", "floatingip", "security_group",
         "security_group_rule"), -1)  # fmt: skip
    status, body = await neutron.call("GET", "/v2.0/quotas/alpha/details.json")
    quota = body["quota"]
    assert status == 200 and quota["network"] == {"used": 1, "limit": -1, "reserved": 0}
    assert (quota["subnet"]["used"], quota["router"]["used"]) == (1, 0)
    assert quota["port"]["used"] >= 1  # the subnet's DHCP port may count too
    _, body = await neutron.call("GET", "/v2.0/quotas/beta/details", "beta")
    assert body["quota"]["network"]["used"] == 0
    status, body = await neutron.call("GET", "/v2.0/quotas/beta/default")
    assert status == 200 and body["quota"]["port"] == -1
    status, body = await neutron.call("GET", "/v2.0/quotas/beta")
    assert status == 403
    neutron_error(body, "PolicyNotAuthorized")
    status, body = await neutron.call("PUT", "/v2.0/quotas/alpha", body={"quota": {"port": 5}})
    assert status == 403
    with contextlib.suppress(AlreadyExists):
        neutron.identity.create_project("admin")
    with contextlib.suppress(AlreadyExists):
        neutron.identity.create_user("admin", "boss", role="admin")
    admin = {"X-Auth-Token": neutron.identity.issue_token("admin", "boss", 3600)[0]}
    url = f"{neutron.url}/v2.0/quotas/alpha"
    async with neutron.session.put(url, json={"quota": {"port": 5}}, headers=admin) as resp:
        assert resp.status == 400
        neutron_error(await resp.json(), "HTTPBadRequest")
    async with neutron.session.get(url + "/details", headers=admin) as resp:
        assert (await resp.json())["quota"]["network"]["used"] == 1
