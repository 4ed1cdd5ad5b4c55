"""Optional outbound NAT for the networks' subnets, as one nftables table (``nft``).

Off by default (``network.nat``). When on, the table ``ip stratus_<prefix>``
is replaced atomically with: masquerade for traffic from each subnet that
leaves by another interface than its bridge, and a forward rule that drops
traffic routed from one Stratus bridge to another, so private networks stay
apart even though the host routes for them. IPv4 forwarding is switched on.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")


class NatError(RuntimeError):
    """nft is missing or refused the ruleset."""


def table_name(prefix: str) -> str:
    return f"stratus_{prefix}"


def ruleset(prefix: str, subnets: Sequence[tuple[str, str]]) -> str:
    """The nft script for ``(cidr, bridge)`` pairs; replaces the table in one transaction."""
    table = table_name(prefix)
    lines = [
        f"table ip {table}",
        f"delete table ip {table}",
        f"table ip {table} {{",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
    ]
    lines += [f'    ip saddr {cidr} oifname != "{bridge}" masquerade' for cidr, bridge in subnets]
    lines += [
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        f'    iifname "{prefix}b*" oifname "{prefix}b*" drop',
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


async def _nft(script: str) -> None:
    nft = shutil.which("nft")
    if nft is None:
        raise NatError("network.nat needs nft (Debian package nftables)")
    proc = await asyncio.create_subprocess_exec(
        nft, "-f", "-", stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate(script.encode())
    if proc.returncode != 0:
        raise NatError(f"nft refused the ruleset: {err.decode(errors='replace')[:300]}")


async def apply(prefix: str, subnets: Sequence[tuple[str, str]]) -> None:
    """Make the NAT table say exactly ``subnets``; turn on IPv4 forwarding."""
    await _nft(ruleset(prefix, subnets))
    if FORWARDING.exists() and FORWARDING.read_text().strip() != "1":
        FORWARDING.write_text("1\n")


async def remove(prefix: str) -> None:
    """Drop the NAT table (no error when it or nft is absent)."""
    if shutil.which("nft") is None:
        return
    table = table_name(prefix)
    await _nft(f"table ip {table}\ndelete table ip {table}\n")
