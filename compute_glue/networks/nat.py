"""The networks' nftables table: tenant networks kept apart, and optional outbound NAT.

One table, ``inet stratus_<prefix>``, replaced atomically (``nft -f``) whenever
networks or subnets change. Its forward chain always drops traffic routed
from one Stratus bridge to another, whatever the host's ``ip_forward`` says
(another service may turn forwarding on), so private networks of different
projects never reach each other through the host; traffic within one bridge
is accepted. With ``network.nat`` on, it also masquerades traffic from each
subnet that leaves by another interface than its bridge, and IPv4 forwarding
is switched on. Guests' requests to the metadata address (169.254.169.254:80)
are redirected to the metadata service on their subnet's gateway address, as
Neutron's router redirects them to its metadata proxy; only from the
subnet's own bridge and addresses. A second table, ``bridge stratus_<prefix>``,
is Neutron's port security: a frame from a server's tap must carry its
port's MAC, and its IPv4 and ARP packets one of the port's fixed IPs (or
0.0.0.0, DHCP's), so a guest cannot pass for another (the metadata service
and DHCP know guests by address and MAC).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
METADATA_ADDRESS = "169.254.169.254"


class NatError(RuntimeError):
    """nft is missing or refused the ruleset."""


def table_name(prefix: str) -> str:
    return f"stratus_{prefix}"


def ruleset(
    prefix: str,
    bridges: Sequence[str],
    subnets: Sequence[tuple[str, str]],
    *,
    nat: bool,
    metadata: Sequence[tuple[str, str, str]] = (),
    metadata_port: int = 0,
    ports: Sequence[tuple[str, str, Sequence[str]]] = (),
) -> str:
    """The nft script for the ``bridges`` and ``(cidr, bridge)`` subnets; one transaction.

    ``metadata``: ``(bridge, cidr, gateway)`` of each subnet whose guests reach the
    metadata service, at ``gateway:metadata_port``. ``ports``: ``(tap, mac, fixed IPs)`` of
    each plugged port.

    Declare-then-delete-then-define replaces the table whether it exists or not
    (the ``ip`` table of the same name is what earlier versions made).
    """
    table = table_name(prefix)
    lines = [
        f"table ip {table}",
        f"delete table ip {table}",
        f"table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
    ]
    # Within one bridge (seen here only when br_netfilter hands bridged frames to IP).
    lines += [f'    iifname "{b}" oifname "{b}" accept' for b in bridges]
    lines += [f'    iifname "{prefix}b*" oifname "{prefix}b*" drop', "  }"]
    if metadata and metadata_port:
        lines += [
            "  chain prerouting {",
            "    type nat hook prerouting priority dstnat; policy accept;",
        ]
        lines += [
            f'    iifname "{bridge}" ip saddr {cidr} ip daddr {METADATA_ADDRESS} tcp dport 80 '
            f"dnat ip to {gateway}:{metadata_port}"
            for bridge, cidr, gateway in metadata
        ]
        lines.append("  }")
    if nat:
        lines += [
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
        ]
        lines += [
            f'    ip saddr {cidr} oifname != "{bridge}" masquerade' for cidr, bridge in subnets
        ]
        lines.append("  }")
    lines.append("}")
    lines += [f"table bridge {table}", f"delete table bridge {table}"]
    if ports:
        lines += [
            f"table bridge {table} {{",
            "  chain prerouting {",
            "    type filter hook prerouting priority filter; policy accept;",
        ]
        for tap, mac, ips in ports:
            allowed = ", ".join([*ips, "0.0.0.0"])
            lines += [
                f'    iifname "{tap}" ether saddr != {mac} drop',
                f'    iifname "{tap}" ether type ip ip saddr != {{ {allowed} }} drop',
                f'    iifname "{tap}" ether type arp arp saddr ip != {{ {allowed} }} drop',
            ]
        lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


async def _nft(script: str) -> None:
    nft = shutil.which("nft")
    if nft is None:
        raise NatError("networks need nft (Debian package nftables) to keep projects apart")
    proc = await asyncio.create_subprocess_exec(
        nft, "-f", "-", stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate(script.encode())
    if proc.returncode != 0:
        raise NatError(f"nft refused the ruleset: {err.decode(errors='replace')[:300]}")


async def apply(
    prefix: str,
    bridges: Sequence[str],
    subnets: Sequence[tuple[str, str]],
    *,
    nat: bool,
    metadata: Sequence[tuple[str, str, str]] = (),
    metadata_port: int = 0,
    ports: Sequence[tuple[str, str, Sequence[str]]] = (),
) -> None:
    """Make the tables say exactly this; with ``nat``, turn on IPv4 forwarding."""
    script = ruleset(
        prefix,
        bridges,
        subnets,
        nat=nat,
        metadata=metadata,
        metadata_port=metadata_port,
        ports=ports,
    )
    await _nft(script)
    if nat and FORWARDING.exists() and FORWARDING.read_text().strip() != "1":
        FORWARDING.write_text("1\n")


async def remove(prefix: str) -> None:
    """Drop the table (no error when it or nft is absent)."""
    if shutil.which("nft") is None:
        return
    table = table_name(prefix)
    await _nft(
        f"table ip {table}\ndelete table ip {table}\n"
        f"table inet {table}\ndelete table inet {table}\n"
        f"table bridge {table}\ndelete table bridge {table}\n"
    )
