"""The compute service's /metrics (servers by status, requests) and the network endpoint's
(records by kind, requests), each on its own port."""

from __future__ import annotations

import pytest

from compute_glue.networks.client import NetworkClient
from tests.functional.compute_glue.servers.conftest import Stack
from tests.helpers.metrics import scrape, value

pytestmark = pytest.mark.slow

IDLE = 'echo "T:UP"\nwhile true; do sleep 1; done\n'
N = "stratus_http_requests_total"


async def test_server_and_network_requests_and_records_are_counted(stack: Stack) -> None:
    net_url = f"http://127.0.0.1:{stack.cfg.network.port}"
    nets = NetworkClient(net_url, stack.token())
    try:
        net = await nets.create_network("private-net-name")
        await nets.create_subnet(net["id"], "10.214.7.0/24")
    finally:
        await nets.close()
    got = await scrape(net_url)
    assert value(got, N, api="network", operation="POST /v2.0/networks", status="201") == 1
    assert value(got, "stratus_network_records", kind="networks") == 1
    assert value(got, "stratus_network_records", kind="subnets") == 1

    before = await scrape(stack.compute_url)
    assert value(before, "stratus_servers", status="ACTIVE") == 0
    nova = stack.nova
    made = await nova.create_server(
        "private-vm-name", stack.image_id, "m1.tiny", script=IDLE, networks=[{"uuid": net["id"]}]
    )
    await nova.wait_server(made["id"], "ACTIVE")
    after = await scrape(stack.compute_url)
    create = {"api": "compute", "operation": "POST /v2.1/servers", "status": "202"}
    assert value(after, N, **create) - value(before, N, **create) == 1
    assert value(after, "stratus_servers", status="ACTIVE") == 1
    assert "private-vm-name" not in str(after)

    await nova.delete_server(made["id"])
    await nova.wait_gone(made["id"])
    assert value(await scrape(stack.compute_url), "stratus_servers", status="ACTIVE") == 0
    await stack.nets.delete_subnet((await stack.nets.get_network(net["id"]))["subnets"][0])
    await stack.nets.delete_network(net["id"])
