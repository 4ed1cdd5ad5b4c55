"""The network API's request bodies, parsed at the edge into typed requests.

Each parser checks, in this API's order, the attributes a resource takes
(an unknown one is 400 ``HTTPBadRequest``), then the caller's right to
write (403), then each value (400 ``InvalidInput``), and returns a frozen
dataclass for the network manager; an update finds its record (404)
before its values are parsed. What only the records can tell (a network
that is not found, an address in use, a subnet that overlaps) stays with
the manager. A create is for the caller's own project unless an operator
names another.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compute_glue.errors import BadRequest
from compute_glue.networks.model import (
    check_mac,
    check_pools,
    default_pools,
    host_address,
    parse_cidr,
)
from compute_glue.networks.policy import owner, require_writer
from stratus.identity import Principal

NETWORK_CREATE = {"name", "description", "admin_state_up", "mtu"}
NETWORK_UPDATE = {"name", "description", "admin_state_up"}
SUBNET_CREATE = {"network_id", "cidr", "gateway_ip", "allocation_pools", "name", "description",
                 "ip_version", "enable_dhcp"}  # fmt: skip
SUBNET_UPDATE = {"name", "description"}
PORT_CREATE = {"network_id", "name", "mac_address", "fixed_ips", "admin_state_up", "device_id",
               "device_owner", "description"}  # fmt: skip
PORT_UPDATE = {"name", "admin_state_up", "description"}
MAX_FIXED_IPS = 8


def _bad(message: str) -> BadRequest:
    return BadRequest(message, kind="InvalidInput")


def _text(spec: Mapping[str, Any], key: str, default: str = "", limit: int = 255) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(f"{key} must be a string of at most {limit} characters.")
    return value


def _flag(spec: Mapping[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise _bad(f"{key} must be a boolean.")
    return value


def _optional_text(spec: Mapping[str, Any], key: str) -> str | None:
    return _text(spec, key) if key in spec else None


def _optional_flag(spec: Mapping[str, Any], key: str) -> bool | None:
    return _flag(spec, key, True) if key in spec else None


def shape(spec: Any, allowed: set[str], what: str, who: Principal) -> Mapping[str, Any]:
    """The resource's attributes, none unknown; then the caller must be a writer.

    An update checks this first, then finds the record (404), then parses the values.
    """
    if not isinstance(spec, dict):
        raise _bad(f"The {what} must be a JSON object.")
    unknown = set(spec) - allowed - {"tenant_id", "project_id"}
    if unknown:
        name = sorted(unknown)[0][:64]
        raise BadRequest(f"Unrecognized attribute(s) '{name}'", kind="HTTPBadRequest")
    require_writer(who)
    return spec


# -- networks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkCreate:
    project: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    mtu: int = 1500


@dataclass(frozen=True)
class NetworkUpdate:
    """What to change; None leaves the attribute as it is."""

    name: str | None = None
    description: str | None = None
    admin_state_up: bool | None = None


def network_create(body: Any, who: Principal) -> NetworkCreate:
    spec = shape(body, NETWORK_CREATE, "network", who)
    mtu = spec.get("mtu", 1500)
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not 68 <= mtu <= 9000:
        raise _bad("mtu must be an integer between 68 and 9000.")
    return NetworkCreate(
        project=owner(who, spec.get("project_id") or spec.get("tenant_id")),
        name=_text(spec, "name"),
        description=_text(spec, "description"),
        admin_state_up=_flag(spec, "admin_state_up", True),
        mtu=mtu,
    )


def network_update(spec: Mapping[str, Any]) -> NetworkUpdate:
    """The values of an update whose :func:`shape` was checked."""
    return NetworkUpdate(
        name=_optional_text(spec, "name"),
        description=_optional_text(spec, "description"),
        admin_state_up=_optional_flag(spec, "admin_state_up"),
    )


# -- subnets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubnetCreate:
    network_id: str
    cidr: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None
    allocation_pools: list[dict[str, str]]
    enable_dhcp: bool = True
    name: str = ""
    description: str = ""


@dataclass(frozen=True)
class SubnetUpdate:
    name: str | None = None
    description: str | None = None


def subnet_create(body: Any, who: Principal) -> SubnetCreate:
    spec = shape(body, SUBNET_CREATE, "subnet", who)
    if spec.get("ip_version", 4) != 4:
        raise _bad("Only ip_version 4 is supported.")
    enable_dhcp = _flag(spec, "enable_dhcp", True)
    cidr = parse_cidr(spec.get("cidr"))
    gw_raw = spec.get("gateway_ip", str(cidr.network_address + 1))
    gateway = None if gw_raw is None else host_address(cidr, gw_raw, "gateway_ip")
    pools = spec.get("allocation_pools")
    pools = default_pools(cidr, gateway) if pools is None else check_pools(cidr, pools, gateway)
    return SubnetCreate(
        network_id=_text(spec, "network_id", "", 64),
        cidr=cidr,
        gateway=gateway,
        allocation_pools=pools,
        enable_dhcp=enable_dhcp,
        name=_text(spec, "name"),
        description=_text(spec, "description"),
    )


def subnet_update(spec: Mapping[str, Any]) -> SubnetUpdate:
    return SubnetUpdate(
        name=_optional_text(spec, "name"), description=_optional_text(spec, "description")
    )


# -- ports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedIp:
    """One ``fixed_ips`` entry: a subnet by id, an address, or both.

    The address is kept as sent (``has_address`` says whether one was):
    whether it is one, and of which subnet, only the network's subnets tell.
    A ``subnet_id`` that is not a string names no subnet ("").
    """

    subnet_id: str | None = None
    ip_address: Any = None  # as sent (a string, or an integer ipaddress takes)
    has_address: bool = False


@dataclass(frozen=True)
class PortCreate:
    """A port to make. ``fixed_ips`` None: the first subnet's next free address."""

    network_id: str = ""
    mac_address: str | None = None  # None: a random one
    fixed_ips: tuple[FixedIp, ...] | None = None
    name: str = ""
    device_id: str = ""
    device_owner: str = ""
    admin_state_up: bool = True


@dataclass(frozen=True)
class PortUpdate:
    name: str | None = None
    admin_state_up: bool | None = None


@dataclass(frozen=True)
class PortRequest:
    """A port for a server (a Nova ``networks`` entry): an existing port, or a new one."""

    port_id: str | None = None  # an existing port, given to the server
    network_id: str = ""  # else a new port on this network...
    fixed_ip: Any = None  # ...at this address, as sent (None: the next free one)

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> PortRequest:
        """From Nova's ``{"port": id}`` or ``{"uuid": network, "fixed_ip": address}``."""
        if "port" in entry:
            return cls(port_id=str(entry["port"]))
        return cls(network_id=str(entry.get("uuid", "")), fixed_ip=entry.get("fixed_ip") or None)

    def port(self) -> PortCreate:
        """The new port it asks for."""
        if self.fixed_ip is None:
            return PortCreate(network_id=self.network_id)
        wanted = FixedIp(ip_address=self.fixed_ip, has_address=True)
        return PortCreate(network_id=self.network_id, fixed_ips=(wanted,))


def port_create(body: Any, who: Principal) -> PortCreate:
    spec = shape(body, PORT_CREATE, "port", who)
    if str(spec.get("device_owner", "")).startswith("compute:"):
        raise _bad("Ports are bound to servers by the compute service.")
    network_id = _text(spec, "network_id", "", 64)
    mac = check_mac(spec["mac_address"]) if "mac_address" in spec else None
    return PortCreate(
        network_id=network_id,
        mac_address=mac,
        fixed_ips=fixed_ips(spec.get("fixed_ips")),
        name=_text(spec, "name"),
        device_id=_text(spec, "device_id"),
        device_owner=_text(spec, "device_owner"),
        admin_state_up=_flag(spec, "admin_state_up", True),
    )


def port_update(spec: Mapping[str, Any]) -> PortUpdate:
    return PortUpdate(
        name=_optional_text(spec, "name"), admin_state_up=_optional_flag(spec, "admin_state_up")
    )


def fixed_ips(wanted: Any) -> tuple[FixedIp, ...] | None:
    if wanted is None:
        return None
    if not isinstance(wanted, list) or len(wanted) > MAX_FIXED_IPS:
        raise _bad("fixed_ips must be a list of at most 8 entries.")
    out = []
    for entry in wanted:
        if not isinstance(entry, dict) or not ({"subnet_id", "ip_address"} & set(entry)):
            raise _bad("Each fixed_ips entry needs subnet_id or ip_address.")
        subnet_id = None
        if "subnet_id" in entry:
            subnet_id = entry["subnet_id"] if isinstance(entry["subnet_id"], str) else ""
        out.append(FixedIp(subnet_id, entry.get("ip_address"), "ip_address" in entry))
    return tuple(out)
