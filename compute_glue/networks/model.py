"""Networks, subnets and ports: the records, their Neutron views, and the address rules.

Pure logic: CIDR, gateway and allocation-pool checks, address allocation,
MAC addresses, and the host interface names (``<prefix>b<id>`` for a
network's bridge, ``<prefix>t<id>`` for a port's tap; at most 15 bytes, the
kernel's IFNAMSIZ).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import secrets
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from compute_glue.errors import BadRequest, Conflict

IFNAMSIZ = 15
ID_CHARS = 10
MAC_PREFIX = "fa:16:3e"  # the prefix OpenStack gives the ports it makes
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
MIN_PREFIX, MAX_PREFIX = 8, 30


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def bridge_name(prefix: str, network_id: str) -> str:
    return _ifname(prefix, "b", network_id)


def tap_name(prefix: str, port_id: str) -> str:
    return _ifname(prefix, "t", port_id)


def _ifname(prefix: str, kind: str, ident: str) -> str:
    name = f"{prefix}{kind}{ident.replace('-', '')[:ID_CHARS]}"
    assert len(name) <= IFNAMSIZ, name
    return name


def random_mac() -> str:
    tail = secrets.token_bytes(3)
    return MAC_PREFIX + "".join(f":{b:02x}" for b in tail)


def check_mac(value: Any) -> str:
    if not isinstance(value, str) or not _MAC.match(value.lower()):
        raise BadRequest(f"Invalid MAC address {str(value)[:32]!r}.", kind="InvalidInput")
    mac = value.lower()
    if int(mac[:2], 16) & 1 or mac == "00:00:00:00:00:00":
        raise BadRequest(f"MAC address {mac} is not a unicast address.", kind="InvalidInput")
    return mac


@dataclass
class Network:
    id: str
    project: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    mtu: int = 1500
    bridge: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    def view(self, subnet_ids: list[str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tenant_id": self.project,
            "project_id": self.project,
            "status": "ACTIVE",
            "admin_state_up": self.admin_state_up,
            "shared": False,
            "router:external": False,
            "mtu": self.mtu,
            "subnets": subnet_ids,
            "port_security_enabled": True,
            "availability_zones": [],
            "availability_zone_hints": [],
            "ipv4_address_scope": None,
            "ipv6_address_scope": None,
            "is_default": False,
            "tags": [],
            "revision_number": 0,
            "stratus:bridge": self.bridge,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass
class Subnet:
    id: str
    network_id: str
    project: str
    cidr: str
    gateway_ip: str | None
    allocation_pools: list[dict[str, str]] = field(default_factory=list)
    name: str = ""
    description: str = ""
    # Records from before DHCP existed have none: their guests keep kernel-command-line addresses.
    enable_dhcp: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "network_id": self.network_id,
            "tenant_id": self.project,
            "project_id": self.project,
            "ip_version": 4,
            "cidr": self.cidr,
            "gateway_ip": self.gateway_ip,
            "allocation_pools": [dict(p) for p in self.allocation_pools],
            "enable_dhcp": self.enable_dhcp,
            "dns_nameservers": [],
            "host_routes": [],
            "subnetpool_id": None,
            "ipv6_address_mode": None,
            "ipv6_ra_mode": None,
            "service_types": [],
            "tags": [],
            "revision_number": 0,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass
class Port:
    id: str
    network_id: str
    project: str
    mac_address: str
    fixed_ips: list[dict[str, str]] = field(default_factory=list)
    name: str = ""
    device_id: str = ""
    device_owner: str = ""
    admin_state_up: bool = True
    tap: str = ""  # set while a server is bound to the port
    active: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "network_id": self.network_id,
            "tenant_id": self.project,
            "project_id": self.project,
            "mac_address": self.mac_address,
            "fixed_ips": [dict(f) for f in self.fixed_ips],
            "device_id": self.device_id,
            "device_owner": self.device_owner,
            "admin_state_up": self.admin_state_up,
            "status": "ACTIVE" if self.active else "DOWN",
            "binding:vif_type": "tap" if self.tap else "unbound",
            "binding:vif_details": {"tap": self.tap} if self.tap else {},
            "binding:vnic_type": "normal",
            "binding:host_id": "",
            "binding:profile": {},
            "security_groups": [default_group_id(self.project)],
            "port_security_enabled": True,
            "allowed_address_pairs": [],
            "extra_dhcp_opts": [],
            "description": "",
            "tags": [],
            "revision_number": 0,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def default_group_id(project: str) -> str:
    """The id of a project's ``default`` security group: stable, derived from the project."""
    return str(uuid.uuid5(_GROUPS, project))


_GROUPS = uuid.UUID("5f0c3c52-8d0f-4c1e-9a55-2f0e4d7b6a10")


def to_record(obj: Any) -> dict[str, Any]:
    return asdict(obj)


def from_record(cls: Any, rec: dict[str, Any]) -> Any:
    known = set(cls.__dataclass_fields__)
    return cls(**{k: v for k, v in rec.items() if k in known})


# -- addresses -----------------------------------------------------------------------------


def parse_cidr(value: Any) -> ipaddress.IPv4Network:
    if not isinstance(value, str):
        raise BadRequest("cidr must be a string like 10.0.0.0/24.", kind="InvalidInput")
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise BadRequest(f"Invalid CIDR {value[:48]!r}.", kind="InvalidInput") from None
    if net.version != 4:
        raise BadRequest("Only IPv4 subnets are supported.", kind="InvalidInput")
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise BadRequest(
            f"The prefix length must be between {MIN_PREFIX} and {MAX_PREFIX}.",
            kind="InvalidInput",
        )
    return net


def host_address(net: ipaddress.IPv4Network, value: Any, what: str) -> ipaddress.IPv4Address:
    """``value`` as an address of ``net`` that a host may hold (not network or broadcast)."""
    try:
        addr = ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        raise BadRequest(f"Invalid {what} {str(value)[:48]!r}.", kind="InvalidInput") from None
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        raise BadRequest(f"{what} {addr} is not a host address of {net}.", kind="InvalidInput")
    return addr


def default_pools(net: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address | None) -> list:
    first, last = net.network_address + 1, net.broadcast_address - 1
    ranges = [(first, last)] if gateway is None else [(first, gateway - 1), (gateway + 1, last)]
    return [{"start": str(a), "end": str(b)} for a, b in ranges if a <= b]


def check_pools(
    net: ipaddress.IPv4Network, pools: Any, gateway: ipaddress.IPv4Address | None
) -> list[dict[str, str]]:
    if not isinstance(pools, list) or not pools or len(pools) > 16:
        raise BadRequest("allocation_pools must be a list of 1 to 16 ranges.", kind="InvalidInput")
    spans = []
    for pool in pools:
        if not isinstance(pool, dict):
            raise BadRequest("Each allocation pool needs 'start' and 'end'.", kind="InvalidInput")
        start = host_address(net, pool.get("start"), "pool start")
        end = host_address(net, pool.get("end"), "pool end")
        if start > end:
            raise BadRequest(f"Allocation pool {start}-{end} is empty.", kind="InvalidInput")
        if gateway is not None and start <= gateway <= end:
            raise Conflict(
                f"Gateway ip {gateway} conflicts with allocation pool {start}-{end}.",
                kind="GatewayConflictWithAllocationPools",
            )
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start <= end:
            raise BadRequest("Allocation pools overlap.", kind="OverlappingAllocationPools")
    return [{"start": str(a), "end": str(b)} for a, b in spans]


def allocate(subnet: Subnet, used: set[str]) -> str:
    """The lowest free address of the subnet's pools."""
    for pool in subnet.allocation_pools:
        addr = ipaddress.IPv4Address(pool["start"])
        end = ipaddress.IPv4Address(pool["end"])
        while addr <= end:
            if str(addr) not in used:
                return str(addr)
            addr += 1
    raise Conflict(
        f"No more IP addresses available on subnet {subnet.id}.",
        kind="IpAddressGenerationFailure",
    )
