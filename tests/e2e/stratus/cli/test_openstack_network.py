"""`openstack network|subnet|port|security group` against `stratus up`'s Neutron endpoint.

On the e2e tests' shared `stratus up`: this file's names start ``osc-``.

The real CLI finds the network endpoint in the catalog (its own port,
``network.port``), discovers the API from its version document and uses
Neutron's shapes; another project's network is invisible (404, so "No
Network found").
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.cloud import Cloud, openstack, os_env, osj
from tests.helpers.tools import missing_tool


@pytest.fixture
def cloud(shared_cloud: Cloud) -> Cloud:
    if os.geteuid() != 0:
        missing_tool("root (CAP_NET_ADMIN) is needed to make bridges")
    return shared_cloud


def test_catalog_points_at_the_network_endpoint(cloud: Cloud) -> None:
    catalog = osj(cloud, "catalog", "list")
    network = next(c for c in catalog if c["Type"] == "network")
    assert f"127.0.0.1:{cloud.env['STRATUS_NETWORK_PORT']}" in str(network["Endpoints"])


def test_network_subnet_port_lifecycle_with_the_cli(cloud: Cloud) -> None:
    net = osj(cloud, "network", "create", "osc-net")
    assert net["name"] == "osc-net" and net["status"] == "ACTIVE"
    sub = osj(
        cloud,
        "subnet",
        "create",
        "--network",
        "osc-net",
        "--subnet-range",
        "10.20.0.0/24",
        "osc-sub",
    )
    assert sub["cidr"] == "10.20.0.0/24" and sub["gateway_ip"] == "10.20.0.1"
    assert sub["enable_dhcp"] is True
    rows = osj(cloud, "network", "list", "--long")
    (row,) = [r for r in rows if r["Name"] == "osc-net"]
    assert row["Status"] == "ACTIVE" and row["Subnets"] == [sub["id"]]
    # The cloud is shared: this test's subnets are its osc-* ones.
    subnets = [s["Name"] for s in osj(cloud, "subnet", "list")]
    assert [name for name in subnets if name.startswith("osc-")] == ["osc-sub"]

    port = osj(cloud, "port", "create", "--network", "osc-net", "osc-port")
    (fixed,) = port["fixed_ips"]
    assert fixed["subnet_id"] == sub["id"] and fixed["ip_address"] == "10.20.0.2"
    listed = osj(cloud, "port", "list", "--network", "osc-net")
    assert [p["ID"] for p in listed] == [port["id"]]
    shown = osj(cloud, "port", "show", "osc-port")
    assert shown["mac_address"] == port["mac_address"] and shown["status"] == "DOWN"

    groups = osj(cloud, "security", "group", "list")
    assert [g["Name"] for g in groups] == ["default"]
    rules = osj(cloud, "security", "group", "rule", "list", "default")
    assert len(rules) == 4

    # Another project: the network is not there for it.
    openstack(cloud, "project", "create", "neutral")
    openstack(cloud, "user", "create", "--project", "neutral", "--password", "pw-n", "nora")
    openstack(cloud, "role", "add", "--project", "neutral", "--user", "nora", "member")
    env = os_env(cloud, "nora", "neutral", password="pw-n")
    out = openstack(cloud, "network", "show", net["id"], check=False, env=env)
    assert out.returncode != 0 and "No Network found" in out.stderr, out.stderr
    out = openstack(cloud, "network", "list", "-f", "value", env=env)
    assert net["id"] not in out.stdout
    out = openstack(cloud, "port", "delete", port["id"], check=False, env=env)
    assert out.returncode != 0

    openstack(cloud, "port", "delete", "osc-port")
    assert osj(cloud, "port", "list", "--network", "osc-net") == []
    out = openstack(cloud, "port", "show", port["id"], check=False)
    assert out.returncode != 0
    openstack(cloud, "subnet", "delete", "osc-sub")
    openstack(cloud, "network", "delete", "osc-net")
    assert "osc-net" not in {n["Name"] for n in osj(cloud, "network", "list")}
