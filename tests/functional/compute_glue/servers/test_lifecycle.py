"""Servers as QEMU processes: boot on a network, console, reboot, stop, start, delete, errors."""

from __future__ import annotations

import uuid

import pytest

from compute_glue.guest_image import MARK_READY
from compute_glue.jsonclient import ApiClientError
from compute_glue.servers.process import start_ticks
from tests.functional.compute_glue.servers.conftest import Stack, console_line, qemu_pids

pytestmark = pytest.mark.slow

IDLE = 'echo "T:UP"\nwhile true; do sleep 1; done\n'


async def refused(coro, status: int) -> ApiClientError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiClientError) as err:
        await coro
    assert err.value.status == status, err.value
    return err.value


async def test_boot_reboot_stop_start_delete(stack: Stack) -> None:
    net = await stack.network("10.214.1.0/24")
    nova = stack.nova
    made = await nova.create_server(
        "vm1",
        stack.image_id,
        "m1.tiny",
        script=IDLE,
        networks=[{"uuid": net["id"], "fixed_ip": "10.214.1.50"}],
    )
    server = await nova.wait_server(made["id"], "ACTIVE")
    assert server["addresses"]["private"][0]["addr"] == "10.214.1.50"
    assert server["OS-EXT-STS:power_state"] == 1
    await console_line(nova, server["id"], "T:UP")
    # /init gave eth0 the port's address from the kernel command line.
    assert "eth0 10.214.1.50/24" in await console_line(nova, server["id"], "STRATUS-GUEST: net")
    vm = stack.compute.servers.vms[server["id"]]
    (port,) = await stack.nets.list_ports(device_id=server["id"])
    assert port["status"] == "ACTIVE"
    tap = port["binding:vif_details"]["tap"]
    links = await stack.compute.networks.host.links(stack.cfg.network.ifname_prefix)
    assert links[tap]["master"] == net["stratus:bridge"]

    await nova.reboot(server["id"], hard=True)
    await console_line(nova, server["id"], MARK_READY, after=1)  # booted a second time
    assert vm.alive and stack.compute.servers.vms[server["id"]] is vm

    await nova.stop(server["id"])
    server = await nova.wait_server(server["id"], "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == 4
    assert not vm.alive and start_ticks(vm.pid) is None
    assert qemu_pids(stack.marker) == []
    assert (await stack.nets.get_port(port["id"]))["status"] == "DOWN"
    await refused(nova.stop(server["id"]), 409)

    await nova.start(server["id"])
    await nova.wait_server(server["id"], "ACTIVE")
    await console_line(nova, server["id"], "T:UP", after=2)  # the console log is kept across boots
    assert stack.compute.servers.vms[server["id"]].pid != vm.pid

    await nova.delete_server(server["id"])
    await nova.wait_gone(server["id"])
    assert qemu_pids(stack.marker) == []
    assert await stack.nets.list_ports(network_id=net["id"]) == []
    links = await stack.compute.networks.host.links(stack.cfg.network.ifname_prefix)
    assert list(links) == [net["stratus:bridge"]]
    await stack.nets.delete_subnet(
        net["subnets"][0]
        if net["subnets"]
        else (await stack.nets.get_network(net["id"]))["subnets"][0]
    )
    await stack.nets.delete_network(net["id"])


async def test_bad_requests_and_build_failures(stack: Stack) -> None:
    nova = stack.nova
    await refused(nova.create_server("x", stack.image_id, "m9.huge"), 400)
    await refused(nova.create_server("", stack.image_id, "m1.tiny"), 400)
    await refused(nova.create_server("x", stack.image_id, "m1.tiny", script="x" * 60000), 400)
    await refused(nova.create_server("x", None, "m1.tiny"), 400)
    await refused(
        nova.create_server("x", stack.image_id, "m1.tiny", networks=[{"uuid": str(uuid.uuid4())}]),
        404,
    )
    reader = stack.nova_for("alpha", role="reader")
    await refused(reader.create_server("x", stack.image_id, "m1.tiny"), 403)
    # An image that does not exist is found out while building: ERROR with a fault.
    made = await nova.create_server("ghost", str(uuid.uuid4()), "m1.tiny", networks="none")
    server = await nova.wait_server(made["id"], "ERROR")
    assert "Build failed" in server["fault"]["message"]
    other = stack.nova_for("beta")
    await refused(other.get_server(made["id"]), 404)
    await refused(other.delete_server(made["id"]), 404)
    err = await refused(nova.action(made["id"], "shelve"), 501)
    assert err.kind == "notImplemented" and "shelve" in err.message
    await refused(nova.action(made["id"], "fly"), 400)
    await refused(nova.attach_volume(made["id"], str(uuid.uuid4())), 409)  # not running
    await nova.delete_server(made["id"])
    await nova.wait_gone(made["id"])
    assert [f["name"] for f in await nova.list_flavors()][:2] == ["m1.tiny", "m1.small"]
