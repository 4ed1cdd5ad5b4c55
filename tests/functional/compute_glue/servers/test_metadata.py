"""Guests set themselves up the cloud-image way: DHCP, then 169.254.169.254 for the rest.

Two servers on one DHCP subnet. Each gets its port's address from the
network's dnsmasq, fetches its user data (the script it runs) from the
metadata service, and prints what the service says about it. The second
asks while claiming to be the first (Neutron-style and forwarding headers
naming the first's id and address): it still gets its own answers, since
the service knows a guest only by the bridge and source address of the
connection. Then it takes the first's address for itself (a second address,
gratuitous ARP to the gateway, a route from that source) and asks again:
port security on its tap drops what it sends from an address not its own,
so it learns nothing of the first.
"""

from __future__ import annotations

import pytest

from compute_glue.guest_image import MARK_DHCP, MARK_METADATA
from tests.functional.compute_glue.servers.conftest import Stack, console_line

pytestmark = pytest.mark.slow

MD = "http://169.254.169.254"
SCRIPT = """echo "T:UP"
h1="X-Instance-ID: {other_id}"
h2="X-Forwarded-For: {other_ip}"
uuid=$(wget -q -O - --header "$h1" --header "$h2" {md}/openstack/latest/meta_data.json \
    | sed -n 's/.*"uuid": "\\([^"]*\\)".*/\\1/p')
echo "T:UUID $uuid"
echo "T:EC2 $(wget -q -O - --header "$h1" {md}/latest/meta-data/instance-id) \
$(wget -q -O - {md}/latest/meta-data/local-ipv4)"
echo "T:HOST $(wget -q -O - {md}/latest/meta-data/hostname)"
wget -q -O /tmp/nd {md}/openstack/latest/network_data.json && grep -q ipv4_dhcp /tmp/nd \
    && echo "T:NETDATA $(sed -n 's/.*"ethernet_mac_address": "\\([^"]*\\)".*/\\1/p' /tmp/nd)"
if [ "{other_ip}" != none ]; then
    ip addr add {other_ip}/32 dev eth0
    arping -U -c 2 -s {other_ip} -I eth0 {gateway} >/dev/null 2>&1
    ip route replace 169.254.169.254 via {gateway} dev eth0 src {other_ip}
    (wget -q -O /tmp/spoof {md}/latest/meta-data/instance-id; echo done > /tmp/spoof-done) &
    sleep 15
    echo "T:SPOOF $(cat /tmp/spoof 2>/dev/null)"
fi
while true; do sleep 1; done
"""


async def test_dhcp_address_and_own_metadata_only(stack: Stack) -> None:
    net = await stack.network("10.214.9.0/24")
    (sub,) = (await stack.nets.get_network(net["id"]))["subnets"]
    assert (await stack.nets.get_subnet(sub))["enable_dhcp"] is True
    nova = stack.nova
    first = await nova.create_server(
        "vm-one",
        stack.image_id,
        "m1.tiny",
        script=SCRIPT.format(md=MD, other_id="none", other_ip="none", gateway="10.214.9.1"),
        networks=[{"uuid": net["id"], "fixed_ip": "10.214.9.21"}],
    )
    second = await nova.create_server(
        "vm-two",
        stack.image_id,
        "m1.tiny",
        script=SCRIPT.format(
            md=MD, other_id=first["id"], other_ip="10.214.9.21", gateway="10.214.9.1"
        ),
        networks=[{"uuid": net["id"], "fixed_ip": "10.214.9.22"}],
    )
    for server, address, name in (
        (first, "10.214.9.21", "vm-one"),
        (second, "10.214.9.22", "vm-two"),
    ):
        await nova.wait_server(server["id"], "ACTIVE")
        # The address came by DHCP (nothing on the kernel command line) ...
        lease = await console_line(nova, server["id"], MARK_DHCP, timeout=180)
        assert lease.endswith(f"eth0 {address}/24"), lease
        # ... and the script it runs from the metadata service.
        await console_line(nova, server["id"], MARK_METADATA, timeout=120)
        uuid_line = await console_line(nova, server["id"], "T:UUID", timeout=120)
        assert uuid_line == f"T:UUID {server['id']}", uuid_line
        ec2 = await console_line(nova, server["id"], "T:EC2", timeout=60)
        assert ec2 == f"T:EC2 {server['id']} {address}", ec2
        host = await console_line(nova, server["id"], "T:HOST", timeout=60)
        assert host == f"T:HOST {name}", host
        (port,) = await stack.nets.list_ports(device_id=server["id"])
        netdata = await console_line(nova, server["id"], "T:NETDATA", timeout=60)
        assert netdata == f"T:NETDATA {port['mac_address']}", netdata
    spoof = await console_line(nova, second["id"], "T:SPOOF", timeout=120)
    assert first["id"] not in spoof, spoof
    for server in (first, second):
        await nova.delete_server(server["id"])
        await nova.wait_gone(server["id"])
    await stack.nets.delete_subnet(sub)
    await stack.nets.delete_network(net["id"])
