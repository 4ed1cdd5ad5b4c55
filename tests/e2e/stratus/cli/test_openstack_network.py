"""`openstack network|subnet|port|security group` against `stratus up`'s Neutron endpoint.

The real CLI finds the network endpoint in the catalog (its own port,
``network.port``), discovers the API from its version document and uses
Neutron's shapes; another project's network is invisible (404, so "No
Network found").
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.cloud import Cloud
from tests.e2e.stratus.cli.test_openstack_clients import _os_env, openstack, openstack_json
from tests.helpers.tools import missing_tool


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    if os.geteuid() != 0:
        missing_tool("root (CAP_NET_ADMIN) is needed to make bridges")
    up = Cloud(tmp_path_factory.mktemp("neutron"))
    up.start()
    try:
        yield up
    finally:
        up.stop()


def test_catalog_points_at_the_network_endpoint(cloud: Cloud) -> None:
    catalog = openstack_json(cloud, "catalog", "list")
    network = next(c for c in catalog if c["Type"] == "network")
    assert f"127.0.0.1:{cloud.env['STRATUS_NETWORK_PORT']}" in str(network["Endpoints"])


def test_network_subnet_port_lifecycle_with_the_cli(cloud: Cloud) -> None:
    net = openstack_json(cloud, "network", "create", "osc-net")
    assert net["name"] == "osc-net" and net["status"] == "ACTIVE"
    sub = openstack_json(
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
    rows = openstack_json(cloud, "network", "list", "--long")
    (row,) = [r for r in rows if r["Name"] == "osc-net"]
    assert row["Status"] == "ACTIVE" and row["Subnets"] == [sub["id"]]
    assert [s["Name"] for s in openstack_json(cloud, "subnet", "list")] == ["osc-sub"]

    port = openstack_json(cloud, "port", "create", "--network", "osc-net", "osc-port")
    (fixed,) = port["fixed_ips"]
    assert fixed["subnet_id"] == sub["id"] and fixed["ip_address"] == "10.20.0.2"
    listed = openstack_json(cloud, "port", "list", "--network", "osc-net")
    assert [p["ID"] for p in listed] == [port["id"]]
    shown = openstack_json(cloud, "port", "show", "osc-port")
    assert shown["mac_address"] == port["mac_address"] and shown["status"] == "DOWN"

    groups = openstack_json(cloud, "security", "group", "list")
    assert [g["Name"] for g in groups] == ["default"]
    rules = openstack_json(cloud, "security", "group", "rule", "list", "default")
    assert len(rules) == 4

    # Another project: the network is not there for it.
    openstack(cloud, "project", "create", "neutral")
    openstack(cloud, "user", "create", "--project", "neutral", "--password", "pw-n", "nora")
    openstack(cloud, "role", "add", "--project", "neutral", "--user", "nora", "member")
    env = {k: v for k, v in _os_env(cloud).items() if k != "OS_CLOUD"}
    env.update(
        OS_AUTH_URL=f"http://127.0.0.1:{cloud.env['STRATUS_IDENTITY_PORT']}/v3",
        OS_USERNAME="nora",
        OS_PASSWORD="pw-n",
        OS_PROJECT_NAME="neutral",
        OS_USER_DOMAIN_NAME="Default",
        OS_PROJECT_DOMAIN_NAME="Default",
        OS_IDENTITY_API_VERSION="3",
    )
    out = openstack(cloud, "network", "show", net["id"], check=False, env=env)
    assert out.returncode != 0 and "No Network found" in out.stderr, out.stderr
    out = openstack(cloud, "network", "list", "-f", "value", env=env)
    assert net["id"] not in out.stdout
    out = openstack(cloud, "port", "delete", port["id"], check=False, env=env)
    assert out.returncode != 0

    openstack(cloud, "port", "delete", "osc-port")
    assert openstack_json(cloud, "port", "list", "--network", "osc-net") == []
    out = openstack(cloud, "port", "show", port["id"], check=False)
    assert out.returncode != 0
    openstack(cloud, "subnet", "delete", "osc-sub")
    openstack(cloud, "network", "delete", "osc-net")
    assert "osc-net" not in {n["Name"] for n in openstack_json(cloud, "network", "list")}
