"""Networks on real bridges and taps: addresses, conflicts, isolation, restart, clean-up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import aiohttp
import pytest

from compute_glue.jsonclient import ApiClientError
from compute_glue.networks.model import bridge_name, tap_name
from stratus.identity import Principal
from tests.functional.compute_glue.networks.conftest import NetRig
from tests.helpers.tools import need_tool

ALPHA = Principal("alpha", "user", ("member",))


async def refused(coro, status: int, kind: str | None = None) -> ApiClientError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiClientError) as err:
        await coro
    assert err.value.status == status, err.value
    if kind is not None:
        assert err.value.kind == kind, err.value
    return err.value


async def test_network_subnet_ports_on_a_real_bridge(nets: NetRig) -> None:
    c = await nets.client("alpha")
    net = await c.create_network("private")
    bridge = bridge_name(nets.prefix, net["id"])
    assert net["stratus:bridge"] == bridge and net["status"] == "ACTIVE"
    pool = {"start": "10.213.7.10", "end": "10.213.7.12"}
    sub = await c.create_subnet(net["id"], "10.213.7.0/24", allocation_pools=[pool])
    assert sub["gateway_ip"] == "10.213.7.1"
    links = await nets.links()
    assert links[bridge]["kind"] == "bridge" and links[bridge]["up"]
    assert "10.213.7.1/24" in links[bridge]["addresses"]
    assert (await c.get_network(net["id"]))["subnets"] == [sub["id"]]

    p1 = await c.create_port(net["id"], name="a")
    p2 = await c.create_port(net["id"], fixed_ips=[{"ip_address": "10.213.7.200"}])
    p3 = await c.create_port(net["id"])
    assert [p["fixed_ips"][0]["ip_address"] for p in (p1, p2, p3)] == [
        "10.213.7.10", "10.213.7.200", "10.213.7.11",
    ]  # fmt: skip
    assert p1["mac_address"].startswith("fa:16:3e:") and p1["status"] == "DOWN"
    await refused(c.create_port(net["id"], fixed_ips=[{"ip_address": "10.213.7.200"}]), 409,
                  "IpAddressAlreadyAllocated")  # fmt: skip
    await refused(c.create_port(net["id"], fixed_ips=[{"ip_address": "10.213.7.1"}]), 409)
    await refused(c.create_port(net["id"], mac_address=p1["mac_address"]), 409, "MacAddressInUse")
    await c.create_port(net["id"])  # the pool's last address
    await refused(c.create_port(net["id"]), 409, "IpAddressGenerationFailure")
    assert {p["id"] for p in await c.list_ports(name="a")} == {p1["id"]}

    await refused(c.create_subnet(net["id"], "10.213.0.0/16"), 409)  # overlaps
    await refused(c.delete_subnet(sub["id"]), 409, "SubnetInUse")
    await refused(c.delete_network(net["id"]), 409, "NetworkInUse")
    for p in await c.list_ports(network_id=net["id"]):
        await c.delete_port(p["id"])
    await c.delete_subnet(sub["id"])
    assert "10.213.7.1/24" not in (await nets.links())[bridge]["addresses"]
    await c.delete_network(net["id"])
    assert await nets.links() == {}


async def test_server_ports_get_taps_and_give_them_back(nets: NetRig) -> None:
    c = await nets.client("alpha")
    net = await c.create_network("n")
    await c.create_subnet(net["id"], "10.213.8.0/28")
    m = nets.manager
    assert m is not None
    port = await m.allocate_for_server(
        ALPHA, "srv-1", {"uuid": net["id"], "fixed_ip": "10.213.8.5"}
    )
    plugged = await m.plug(port.id)
    assert plugged.tap == tap_name(nets.prefix, port.id)
    links = await nets.links()
    assert links[plugged.tap]["master"] == net["stratus:bridge"] and links[plugged.tap]["up"]
    shown = await c.get_port(port.id)
    assert shown["status"] == "ACTIVE" and shown["device_id"] == "srv-1"
    assert m.guest_config(plugged) == (port.mac_address, "10.213.8.5/28", "10.213.8.1")
    await refused(c.delete_port(port.id), 409, "PortInUse")  # bound ports go with their server
    await m.release(port.id, delete=True)
    assert plugged.tap not in await nets.links()
    await refused(c.get_port(port.id), 404, "PortNotFound")
    await c.delete_network(net["id"])


async def test_restart_reconciles_host_with_records(nets: NetRig) -> None:
    c = await nets.client("alpha")
    net = await c.create_network("n")
    await c.create_subnet(net["id"], "10.213.9.0/24")
    assert nets.manager is not None
    port = await nets.manager.allocate_for_server(ALPHA, "srv", {"uuid": net["id"]})
    tap = (await nets.manager.plug(port.id)).tap
    await nets.stop()
    # A reboot loses bridges and taps; a crash may leave strays with our prefix behind.
    bridge = net["stratus:bridge"]
    await nets.host.delete(tap)
    await nets.host.delete(bridge)
    stray = f"{nets.prefix}b0123456789"
    await nets.host.ensure_bridge(stray)
    keep = f"{nets.prefix}keep"  # our prefix, but not a name we make: never touched
    await nets.host.ensure_bridge(keep)
    try:
        report = await nets.start()
        assert sorted(report["made"]) == sorted([bridge, tap]) and report["removed"] == [stray]
        links = await nets.links()
        assert "10.213.9.1/24" in links[bridge]["addresses"]
        assert links[tap]["master"] == bridge and stray not in links and keep in links
    finally:
        await nets.host.delete(keep)
    await nets.manager.release(port.id, delete=True)
    c = await nets.client("alpha")  # the old client closed with the old service
    await c.delete_network(net["id"])
    assert await nets.links() == {}


async def test_projects_roles_and_bad_input(nets: NetRig) -> None:
    alice = await nets.client("alpha")
    bob = await nets.client("beta")
    net = await alice.create_network("mine")
    await refused(bob.get_network(net["id"]), 404, "NetworkNotFound")
    await refused(bob.create_subnet(net["id"], "10.213.10.0/24"), 404)
    assert await bob.list_networks() == []
    reader = await nets.client("alpha", "rita", role="reader")
    await refused(reader.create_network("x"), 403)
    assert [n["id"] for n in await reader.list_networks()] == [net["id"]]
    for cidr in ("10.213.10.0/33", "10.213.10.1/24", "fd00::/64", "10.0.0.0/31", "nonsense"):
        await refused(alice.create_subnet(net["id"], cidr), 400)
    await refused(alice.create_subnet(net["id"], "10.213.10.0/24", gateway_ip="10.213.11.1"), 400)
    pool = {"start": "10.213.10.1", "end": "10.213.10.9"}  # holds the gateway
    await refused(alice.create_subnet(net["id"], "10.213.10.0/24", allocation_pools=[pool]), 409)
    err = await refused(alice.request("POST", "/v2.0/networks", {"networks": [{}]}), 400)
    assert "Bulk" in err.message
    await refused(alice.request("POST", "/v2.0/networks", {"network": {"color": "red"}}), 400)
    await refused(alice.request("GET", "/v2.0/routers"), 404)
    nets.token("alpha")
    async with aiohttp.ClientSession() as s, s.get(f"{nets.url}/v2.0/networks") as r:
        assert r.status == 401
        assert (await r.json())["NeutronError"]["type"] == "Unauthorized"
    await alice.delete_network(net["id"])


async def test_outbound_nat_table_follows_the_subnets(nets: NetRig) -> None:
    nft = need_tool("nft", "nftables")
    await nets.stop()
    nets.nat = True
    await nets.start()
    c = await nets.client("alpha")
    net = await c.create_network("n")
    sub = await c.create_subnet(net["id"], "10.213.11.0/24")
    table = f"stratus_{nets.prefix}"
    shown = subprocess.run([nft, "list", "table", "inet", table], capture_output=True, text=True)
    assert "10.213.11.0/24" in shown.stdout and "masquerade" in shown.stdout
    await c.delete_subnet(sub["id"])
    shown = subprocess.run([nft, "list", "table", "inet", table], capture_output=True, text=True)
    assert "10.213.11.0/24" not in shown.stdout
    await c.delete_network(net["id"])  # the last network: the table goes with it
    shown = subprocess.run([nft, "list", "table", "inet", table], capture_output=True, text=True)
    assert shown.returncode != 0


def _sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=30)


def _endpoint(ns: str, host_if: str, bridge: str, address: str, gateway: str) -> None:
    """A namespace with one veth whose other end hangs on ``bridge``: a guest stand-in."""
    _sh("ip", "netns", "add", ns)
    _sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
    _sh("ip", "link", "set", host_if, "master", bridge, "up")
    _sh("ip", "-n", ns, "addr", "add", address, "dev", "eth0")
    _sh("ip", "-n", ns, "link", "set", "eth0", "up")
    _sh("ip", "-n", ns, "link", "set", "lo", "up")
    _sh("ip", "-n", ns, "route", "add", "default", "via", gateway)


def _ping(ns: str, address: str) -> bool:
    busybox = need_tool("busybox", "busybox-static")
    done = _sh("ip", "netns", "exec", ns, busybox, "ping", "-c", "2", "-W", "1", address,
               check=False)  # fmt: skip
    return done.returncode == 0


@pytest.mark.parametrize("nat", [False, True], ids=["nat-off", "nat-on"])
async def test_projects_networks_are_apart_even_with_forwarding_on(nets: NetRig, nat: bool) -> None:
    """Attack: a guest of beta reaches a guest of alpha through the host's routing."""
    need_tool("nft", "nftables")
    forwarding = Path("/proc/sys/net/ipv4/ip_forward")
    was = forwarding.read_text()
    if nat:  # NAT on or off, the service's own forward rules decide
        await nets.stop()
        nets.nat = True
        await nets.start()
    alpha, beta = await nets.client("alpha"), await nets.client("beta")
    net_a = await alpha.create_network("a")
    await alpha.create_subnet(net_a["id"], "10.213.14.0/24")
    net_b = await beta.create_network("b")
    await beta.create_subnet(net_b["id"], "10.213.15.0/24")
    spaces = [f"{nets.prefix}-a1", f"{nets.prefix}-a2", f"{nets.prefix}-b1"]
    try:
        forwarding.write_text("1\n")  # as another service on the host may have set it
        _endpoint(spaces[0], f"{nets.prefix}va1", net_a["stratus:bridge"], "10.213.14.10/24",
                  "10.213.14.1")  # fmt: skip
        _endpoint(spaces[1], f"{nets.prefix}va2", net_a["stratus:bridge"], "10.213.14.11/24",
                  "10.213.14.1")  # fmt: skip
        _endpoint(spaces[2], f"{nets.prefix}vb1", net_b["stratus:bridge"], "10.213.15.10/24",
                  "10.213.15.1")  # fmt: skip
        assert _ping(spaces[0], "10.213.14.11")  # the same network: switched by its bridge
        assert _ping(spaces[0], "10.213.14.1")  # its own gateway
        assert not _ping(spaces[0], "10.213.15.10")  # another project's guest: dropped
        assert not _ping(spaces[2], "10.213.14.10")
    finally:
        forwarding.write_text(was)
        for ns in spaces:
            _sh("ip", "netns", "del", ns, check=False)
        for name in (f"{nets.prefix}va1", f"{nets.prefix}va2", f"{nets.prefix}vb1"):
            _sh("ip", "link", "del", name, check=False)
    for net, c in ((net_a, alpha), (net_b, beta)):
        await c.delete_subnet(net["subnets"][0] if net["subnets"] else
                              (await c.get_network(net["id"]))["subnets"][0])  # fmt: skip
        await c.delete_network(net["id"])
