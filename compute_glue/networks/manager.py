"""The network manager: records first, then the host, reconciled at start-up.

Each change is written durably, then applied to the host (bridge, gateway
address, tap) with idempotent calls; if the host refuses, the record is
rolled back. At start-up :meth:`NetworkManager.start` makes the host match
the records: missing bridges, addresses and taps are made again, and
interfaces with this installation's prefix that no record explains are
removed. Mutations are serialised by one lock; reads are lock-free.

``who`` is the caller (a :class:`stratus.identity.Principal`, None for the
compute service itself): records of other projects are invisible to it
unless it is an operator (admin of the ``admin`` project). Requests come
typed (:mod:`compute_glue.networks.bodies`); what only the records can
tell (not found, in use, overlapping) is checked here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from compute_glue.errors import BadRequest, Conflict, NotFound, Unavailable
from compute_glue.networks import nat
from compute_glue.networks.bodies import (
    FixedIp,
    NetworkCreate,
    NetworkUpdate,
    PortCreate,
    PortRequest,
    PortUpdate,
    SubnetCreate,
    SubnetUpdate,
)
from compute_glue.networks.dhcp import Dhcp, DhcpHost, DhcpSubnet
from compute_glue.networks.model import (
    Network,
    Port,
    Subnet,
    allocate,
    bridge_name,
    from_record,
    host_address,
    random_mac,
    tap_name,
    to_record,
)
from compute_glue.networks.netlink import HostNet
from compute_glue.networks.policy import require_writer, visible
from compute_glue.records import RecordStore, Txn
from stratus.identity import Principal

log = logging.getLogger("compute_glue.networks")
COMPUTE_OWNER = "compute:stratus"
R = TypeVar("R", Network, Subnet, Port)
T = TypeVar("T")


@dataclass
class NetSettings:
    prefix: str = "st"
    nat: bool = False
    metadata_port: int = 0  # where 169.254.169.254:80 is redirected on each gateway; 0: nowhere


class NetworkManager:
    """Networks, subnets and ports of one compute host."""

    def __init__(
        self,
        path: Path,
        host: HostNet,
        settings: NetSettings,
        clock: Callable[[], float] = time.time,
        dhcp: Dhcp | None = None,
    ) -> None:
        self.records = RecordStore(path, ["networks", "subnets", "ports"])
        self.host = host
        self.settings = settings
        self.dhcp = dhcp
        self.clock = clock
        self.lock = asyncio.Lock()
        prefix = re.escape(settings.prefix)
        self._ours = re.compile(rf"^{prefix}[bt][0-9a-f]{{10}}$")

    def close(self) -> None:
        self.records.close()

    # -- lookups ---------------------------------------------------------------------------

    def _load(
        self, t: Txn, table: str, cls: type[R], ident: str, who: Principal | None, kind: str
    ) -> R:
        rec = t.get(table, ident) if isinstance(ident, str) and len(ident) <= 64 else None
        if rec is None or not visible(rec["project"], who):
            raise NotFound(f"{kind[:-8] or kind} {str(ident)[:64]} could not be found.", kind=kind)
        return from_record(cls, rec)

    def get_network(self, who: Principal | None, network_id: str) -> Network:
        with self.records.read() as t:
            return self._load(t, "networks", Network, network_id, who, "NetworkNotFound")

    def get_subnet(self, who: Principal | None, subnet_id: str) -> Subnet:
        with self.records.read() as t:
            return self._load(t, "subnets", Subnet, subnet_id, who, "SubnetNotFound")

    def get_port(self, who: Principal | None, port_id: str) -> Port:
        with self.records.read() as t:
            return self._load(t, "ports", Port, port_id, who, "PortNotFound")

    def subnets_of(self, network_id: str) -> list[Subnet]:
        return [
            from_record(Subnet, r)
            for _, r in self.records.scan("subnets")
            if r["network_id"] == network_id
        ]

    def network_view(self, net: Network) -> dict[str, Any]:
        return net.view([s.id for s in self.subnets_of(net.id)])

    def list_all(self, who: Principal | None, table: str) -> list[Any]:
        cls = {"networks": Network, "subnets": Subnet, "ports": Port}[table]
        return [
            from_record(cls, r) for _, r in self.records.scan(table) if visible(r["project"], who)
        ]

    # -- networks ----------------------------------------------------------------------------

    async def create_network(self, who: Principal, req: NetworkCreate) -> Network:
        require_writer(who)
        now = self.clock()
        net_id = str(uuid.uuid4())
        net = Network(
            id=net_id,
            project=req.project,
            name=req.name,
            description=req.description,
            admin_state_up=req.admin_state_up,
            mtu=req.mtu,
            bridge=bridge_name(self.settings.prefix, net_id),
            created_at=now,
            updated_at=now,
        )
        async with self.lock:
            self.records.put("networks", net.id, to_record(net))
            try:
                await self._apply_nat()  # the new bridge is kept apart before it exists
                await self.host.ensure_bridge(net.bridge, net.mtu)
            except Exception as exc:
                self.records.delete("networks", net.id)
                await self._quietly(self.host.delete(net.bridge))
                await self._quietly(self._apply_nat())
                raise Unavailable(f"The host refused the bridge: {exc}") from None
        log.info("network %s (%s) created on bridge %s", net.id, net.name, net.bridge)
        return net

    async def update_network(self, who: Principal, network_id: str, req: NetworkUpdate) -> Network:
        require_writer(who)
        async with self.lock, _editing(self.records) as t:
            net = self._load(t, "networks", Network, network_id, who, "NetworkNotFound")
            net.name = _keep(req.name, net.name)
            net.description = _keep(req.description, net.description)
            net.admin_state_up = _keep(req.admin_state_up, net.admin_state_up)
            net.updated_at = self.clock()
            t.put("networks", net.id, to_record(net))
        return net

    async def delete_network(self, who: Principal, network_id: str) -> None:
        require_writer(who)
        async with self.lock:
            net = self.get_network(who, network_id)
            ports = [p for p in self.list_all(None, "ports") if p.network_id == net.id]
            if ports:
                raise Conflict(
                    f"Unable to complete operation on network {net.id}. There are one or more "
                    "ports still in use on the network.",
                    kind="NetworkInUse",
                )
            subnets = self.subnets_of(net.id)
            with self.records.write() as t:
                for sub in subnets:
                    t.delete("subnets", sub.id)
                t.delete("networks", net.id)
            await self._quietly(self.host.delete(net.bridge))
            await self._apply_nat()
            await self._apply_dhcp(net.id)
        log.info("network %s deleted", network_id)

    # -- subnets -----------------------------------------------------------------------------

    async def create_subnet(self, who: Principal, req: SubnetCreate) -> Subnet:
        require_writer(who)
        cidr = req.cidr
        async with self.lock:
            net = self.get_network(who, req.network_id)
            self._check_overlap(cidr)
            now = self.clock()
            sub = Subnet(
                id=str(uuid.uuid4()),
                network_id=net.id,
                project=net.project,
                cidr=str(cidr),
                gateway_ip=None if req.gateway is None else str(req.gateway),
                allocation_pools=req.allocation_pools,
                name=req.name,
                description=req.description,
                enable_dhcp=req.enable_dhcp,
                created_at=now,
                updated_at=now,
            )
            self.records.put("subnets", sub.id, to_record(sub))
            try:
                if sub.gateway_ip is not None:
                    await self.host.ensure_address(net.bridge, sub.gateway_ip, cidr.prefixlen)
                await self._apply_nat()
                await self._apply_dhcp(net.id)
            except Exception as exc:
                self.records.delete("subnets", sub.id)
                await self._quietly(self._apply_dhcp(net.id))
                if sub.gateway_ip is not None:
                    await self._quietly(
                        self.host.remove_address(net.bridge, sub.gateway_ip, cidr.prefixlen)
                    )
                raise Unavailable(f"The host refused the subnet: {exc}") from None
        log.info("subnet %s %s on network %s", sub.id, sub.cidr, net.id)
        return sub

    def _check_overlap(self, cidr: ipaddress.IPv4Network) -> None:
        """Gateways live on this host, so no two subnets (of any project) may overlap."""
        for _, rec in self.records.scan("subnets"):
            if ipaddress.IPv4Network(rec["cidr"]).overlaps(cidr):
                raise Conflict(
                    f"Requested subnet with cidr {cidr} overlaps with another subnet.",
                    kind="InvalidInput",
                )

    async def update_subnet(self, who: Principal, subnet_id: str, req: SubnetUpdate) -> Subnet:
        require_writer(who)
        async with self.lock, _editing(self.records) as t:
            sub = self._load(t, "subnets", Subnet, subnet_id, who, "SubnetNotFound")
            sub.name = _keep(req.name, sub.name)
            sub.description = _keep(req.description, sub.description)
            sub.updated_at = self.clock()
            t.put("subnets", sub.id, to_record(sub))
        return sub

    async def delete_subnet(self, who: Principal, subnet_id: str) -> None:
        require_writer(who)
        async with self.lock:
            sub = self.get_subnet(who, subnet_id)
            users = [
                p.id
                for p in self.list_all(None, "ports")
                if any(f["subnet_id"] == sub.id for f in p.fixed_ips)
            ]
            if users:
                raise Conflict(
                    f"Unable to complete operation on subnet {sub.id}: one or more ports have "
                    "an IP allocation from this subnet.",
                    kind="SubnetInUse",
                )
            net = self.get_network(None, sub.network_id)
            self.records.delete("subnets", sub.id)
            if sub.gateway_ip is not None:
                prefixlen = sub.net.prefixlen
                await self._quietly(self.host.remove_address(net.bridge, sub.gateway_ip, prefixlen))
            await self._apply_nat()
            await self._quietly(self._apply_dhcp(net.id))

    # -- ports -------------------------------------------------------------------------------

    async def create_port(self, who: Principal, req: PortCreate) -> Port:
        require_writer(who)
        async with self.lock:
            net = self.get_network(who, req.network_id)
            port = self._new_port(net, req)
            self.records.put("ports", port.id, to_record(port))
            await self._quietly(self._apply_dhcp(net.id))
        return port

    def _new_port(self, net: Network, req: PortCreate) -> Port:
        ports = [p for p in self.list_all(None, "ports") if p.network_id == net.id]
        mac = req.mac_address or random_mac()
        while req.mac_address is None and any(p.mac_address == mac for p in ports):
            mac = random_mac()
        if any(p.mac_address == mac for p in ports):
            raise Conflict(
                f"Unable to complete operation for network {net.id}. The mac "
                f"address {mac} is in use.",
                kind="MacAddressInUse",
            )
        subnets = self.subnets_of(net.id)
        used = {f["ip_address"] for p in ports for f in p.fixed_ips}
        used |= {s.gateway_ip for s in subnets if s.gateway_ip}
        fixed = self._fixed_ips(req.fixed_ips, subnets, used)
        now = self.clock()
        return Port(
            id=str(uuid.uuid4()),
            network_id=net.id,
            project=net.project,
            mac_address=mac,
            fixed_ips=fixed,
            name=req.name,
            device_id=req.device_id,
            device_owner=req.device_owner,
            admin_state_up=req.admin_state_up,
            created_at=now,
            updated_at=now,
        )

    def _fixed_ips(
        self, wanted: tuple[FixedIp, ...] | None, subnets: list[Subnet], used: set[str]
    ) -> list[dict[str, str]]:
        if wanted is None:
            return (
                [{"subnet_id": subnets[0].id, "ip_address": allocate(subnets[0], used)}]
                if (subnets)
                else []
            )
        out = []
        for entry in wanted:
            sub = self._subnet_for(entry, subnets)
            if entry.has_address:
                addr = str(host_address(sub.net, entry.ip_address, "ip_address"))
                if addr in used:
                    raise Conflict(
                        f"IP address {addr} already allocated in subnet {sub.id}",
                        kind="IpAddressAlreadyAllocated",
                    )
            else:
                addr = allocate(sub, used)
            used.add(addr)
            out.append({"subnet_id": sub.id, "ip_address": addr})
        return out

    @staticmethod
    def _subnet_for(entry: FixedIp, subnets: list[Subnet]) -> Subnet:
        for sub in subnets:
            if entry.subnet_id is not None:
                if sub.id == entry.subnet_id:
                    return sub
            else:
                try:
                    if ipaddress.IPv4Address(entry.ip_address) in sub.net:
                        return sub
                except (ValueError, TypeError):
                    break
        raise BadRequest("The fixed IP names no subnet of this network.", kind="InvalidInput")

    async def update_port(self, who: Principal, port_id: str, req: PortUpdate) -> Port:
        require_writer(who)
        async with self.lock, _editing(self.records) as t:
            port = self._load(t, "ports", Port, port_id, who, "PortNotFound")
            port.name = _keep(req.name, port.name)
            port.admin_state_up = _keep(req.admin_state_up, port.admin_state_up)
            port.updated_at = self.clock()
            t.put("ports", port.id, to_record(port))
        return port

    async def delete_port(
        self, who: Principal | None, port_id: str, *, internal: bool = False
    ) -> None:
        """Delete a port; one bound to a server only from the compute service (``internal``)."""
        require_writer(who)
        async with self.lock:
            port = self.get_port(who, port_id)
            if port.device_owner == COMPUTE_OWNER and not internal:
                raise Conflict(
                    f"Port {port.id} is in use by server {port.device_id}.", kind="PortInUse"
                )
            self.records.delete("ports", port.id)
            if port.tap:
                await self._quietly(self.host.delete(port.tap))
            await self._quietly(self._apply_dhcp(port.network_id))

    # -- the compute side ----------------------------------------------------------------------

    async def allocate_for_server(
        self, who: Principal, server_id: str, request: PortRequest | Mapping[str, Any]
    ) -> Port:
        """A port for a server: an existing port given to it, or a new one on a network.

        ``request`` may be Nova's ``networks`` entry as sent (``{"port": id}`` or
        ``{"uuid": network, "fixed_ip": address}``), read as a :class:`PortRequest`.
        """
        if not isinstance(request, PortRequest):
            request = PortRequest.of(request)
        async with self.lock:
            if request.port_id is not None:
                port = self.get_port(who, request.port_id)
                if port.device_id and port.device_id != server_id:
                    raise Conflict(f"Port {port.id} is still in use.", kind="PortInUse")
            else:
                net = self.get_network(who, request.network_id)
                port = self._new_port(net, request.port())
            port.device_id, port.device_owner = server_id, COMPUTE_OWNER
            port.updated_at = self.clock()
            self.records.put("ports", port.id, to_record(port))
            await self._quietly(self._apply_dhcp(port.network_id))
            return port

    async def plug(self, port_id: str) -> Port:
        """Make (or find) the port's tap on its network's bridge."""
        async with self.lock:
            port = self.get_port(None, port_id)
            net = self.get_network(None, port.network_id)
            port.tap = tap_name(self.settings.prefix, port.id)
            await self.host.ensure_bridge(net.bridge, net.mtu)
            port.active = True
            self.records.put("ports", port.id, to_record(port))
            await self._apply_nat()  # its port security before the tap exists
            await self.host.ensure_tap(port.tap, net.bridge)
            return port

    async def unplug(self, port_id: str) -> None:
        """Remove the port's tap (the server stopped); the port keeps its address."""
        async with self.lock:
            try:
                port = self.get_port(None, port_id)
            except NotFound:
                return
            if port.tap:
                await self._quietly(self.host.delete(port.tap))
            port.tap, port.active = "", False
            self.records.put("ports", port.id, to_record(port))
            await self._quietly(self._apply_nat())

    async def release(self, port_id: str, *, delete: bool) -> None:
        """The server is gone: delete the port it made, or free one it was given."""
        await self.unplug(port_id)
        async with self.lock:
            try:
                port = self.get_port(None, port_id)
            except NotFound:
                return
            if delete:
                self.records.delete("ports", port.id)
                await self._quietly(self._apply_dhcp(port.network_id))
            else:
                port.device_id = port.device_owner = ""
                self.records.put("ports", port.id, to_record(port))

    def guest_config(self, port: Port) -> tuple[str, str, str | None] | None:
        """(mac, address/prefix, gateway) of the port's first fixed IP, for the guest."""
        if not port.fixed_ips:
            return None
        first = port.fixed_ips[0]
        sub = self.get_subnet(None, first["subnet_id"])
        if sub.enable_dhcp and self.dhcp is not None:
            return None  # the guest asks the network's dnsmasq
        return port.mac_address, f"{first['ip_address']}/{sub.net.prefixlen}", sub.gateway_ip

    # -- start-up ------------------------------------------------------------------------------

    async def start(self) -> dict[str, list[str]]:
        """Make the host match the records; what was made again and what was removed."""
        report: dict[str, list[str]] = {"made": [], "removed": []}
        async with self.lock:
            existing = await self.host.links(self.settings.prefix)
            wanted: set[str] = set()
            for net in self.list_all(None, "networks"):
                wanted.add(net.bridge)
                if net.bridge not in existing:
                    report["made"].append(net.bridge)
                await self.host.ensure_bridge(net.bridge, net.mtu)
                for sub in self.subnets_of(net.id):
                    if sub.gateway_ip is not None:
                        await self.host.ensure_address(
                            net.bridge, sub.gateway_ip, sub.net.prefixlen
                        )
            nets = {n.id: n for n in self.list_all(None, "networks")}
            for port in self.list_all(None, "ports"):
                if port.tap and port.network_id in nets:
                    wanted.add(port.tap)
                    if port.tap not in existing:
                        report["made"].append(port.tap)
                    await self.host.ensure_tap(port.tap, nets[port.network_id].bridge)
            # Taps before bridges, so a bridge never goes while something hangs on it.
            for name in sorted(existing, key=lambda n: existing[n]["kind"] == "bridge"):
                if name not in wanted and self._ours.match(name):
                    await self.host.delete(name)
                    report["removed"].append(name)
            await self._apply_nat()
            for net_id in set(nets) | set(self.dhcp.networks() if self.dhcp else []):
                await self._quietly(self._apply_dhcp(net_id))
        if report["made"] or report["removed"]:
            log.info("networks reconciled: made %s, removed %s", report["made"], report["removed"])
        return report

    async def _apply_nat(self) -> None:
        """The nftables table: bridges kept apart always, NAT when configured."""
        nets = {n.id: n for n in self.list_all(None, "networks")}
        if not nets:
            await nat.remove(self.settings.prefix)
            return
        pairs = []
        for sub in self.list_all(None, "subnets"):
            if sub.network_id in nets:
                pairs.append((sub.cidr, nets[sub.network_id].bridge))
        bridges = sorted(n.bridge for n in nets.values())
        metadata = []
        if self.settings.metadata_port:
            for sub in self.list_all(None, "subnets"):
                if sub.network_id in nets and sub.gateway_ip is not None:
                    metadata.append((nets[sub.network_id].bridge, sub.cidr, sub.gateway_ip))
        await nat.apply(
            self.settings.prefix,
            bridges,
            pairs,
            nat=self.settings.nat,
            metadata=metadata,
            metadata_port=self.settings.metadata_port,
            ports=[
                (p.tap, p.mac_address, [f["ip_address"] for f in p.fixed_ips])
                for p in self.list_all(None, "ports")
                if p.tap and p.network_id in nets
            ],
        )

    async def _apply_dhcp(self, network_id: str) -> None:
        """The network's dnsmasq: its DHCP subnets and every port's fixed IPs (or stopped)."""
        if self.dhcp is None:
            return
        try:
            net = self.get_network(None, network_id)
        except NotFound:
            await self.dhcp.stop(network_id)
            return
        subnets = [
            DhcpSubnet(s.id, s.cidr, s.gateway_ip, net.mtu)
            for s in self.subnets_of(net.id)
            if s.enable_dhcp and s.gateway_ip is not None
        ]
        dhcp_ids = {s.id for s in subnets}
        hosts = [
            DhcpHost(p.mac_address, f["ip_address"])
            for p in self.list_all(None, "ports")
            if p.network_id == net.id
            for f in p.fixed_ips
            if f["subnet_id"] in dhcp_ids
        ]
        await self.dhcp.sync(net.id, net.bridge, subnets, hosts)

    def port_by_address(self, gateway: str, address: str) -> Port | None:
        """The port holding ``address`` on the subnet whose gateway is ``gateway``.

        How the metadata service knows who asks: the request came in on that
        subnet's bridge (redirected to its gateway address) from that address.
        """
        for sub in self.list_all(None, "subnets"):
            if sub.gateway_ip != gateway:
                continue
            for port in self.list_all(None, "ports"):
                if port.network_id == sub.network_id and any(
                    f["subnet_id"] == sub.id and f["ip_address"] == address for f in port.fixed_ips
                ):
                    return port
        return None

    @staticmethod
    async def _quietly(coro: Any) -> None:
        try:
            await coro
        except Exception as exc:
            log.warning("host clean-up step failed: %s", exc)


def _keep(new: T | None, old: T) -> T:
    """An update's value, or the old one when the update leaves it be."""
    return old if new is None else new


class _editing:
    """``async with self.lock, _editing(records) as t``: one write transaction."""

    def __init__(self, records: RecordStore) -> None:
        self._cm = records.write()

    async def __aenter__(self) -> Txn:
        return self._cm.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)
