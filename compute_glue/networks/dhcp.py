"""DHCP for tenant networks: one dnsmasq per network, run the way Neutron's DHCP agent runs it.

Each network with a DHCP subnet (``enable_dhcp`` and a gateway, which is
the bridge's address dnsmasq answers from) gets a dnsmasq bound to its
bridge only, in ``static`` mode: it answers only the MACs of its hosts file,
each with its port's fixed IP, so a guest always gets its port's address
and an unknown MAC gets nothing. DNS is off (``--port=0``). The files live
in ``/run/stratus-<prefix>/dhcp/<network id>/`` (readable by the unprivileged
user dnsmasq becomes once it has its sockets, unlike the data directory); a
change rewrites them and sends SIGHUP (dnsmasq rereads the hosts and options
files). dnsmasq daemonizes and outlives the
compute service, like the VMs; the next start finds it by its PID file.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("compute_glue.networks.dhcp")
LEASE = "86400s"
RUN = Path("/run")


def dhcp_dir(prefix: str) -> Path:
    """Where the dnsmasq files of the installation with interface ``prefix`` live."""
    return RUN / f"stratus-{prefix}" / "dhcp"


class DhcpError(RuntimeError):
    """dnsmasq is missing or refused to start."""


@dataclass(frozen=True)
class DhcpSubnet:
    id: str
    cidr: str
    gateway: str
    mtu: int


@dataclass(frozen=True)
class DhcpHost:
    mac: str
    address: str


class Dhcp:
    """The dnsmasq processes of one compute host, under ``root``."""

    def __init__(self, root: Path, binary: str = "dnsmasq") -> None:
        self.root = root
        self.binary = binary

    def _dir(self, network_id: str) -> Path:
        return self.root / network_id

    async def sync(
        self,
        network_id: str,
        bridge: str,
        subnets: Sequence[DhcpSubnet],
        hosts: Sequence[DhcpHost],
    ) -> None:
        """Make the network's dnsmasq serve exactly ``hosts`` on ``subnets`` (none: stop it)."""
        if not subnets:
            await self.stop(network_id)
            return
        d = self._dir(network_id)
        d.mkdir(parents=True, exist_ok=True)
        for p in (d, d.parent, d.parent.parent):  # dnsmasq rereads the files as nobody
            os.chmod(p, 0o755)
        _write(d / "host", "".join(_host_line(h) for h in hosts))
        _write(d / "opts", "".join(_opts_lines(s) for s in subnets))
        args = _argv(self.binary, d, bridge, subnets)
        pid = self.pid(network_id)
        if pid is not None and _read(d / "args") == "\0".join(args):
            os.kill(pid, signal.SIGHUP)
            return
        await self._kill(network_id)
        binary = shutil.which(self.binary)
        if binary is None:
            raise DhcpError("DHCP needs dnsmasq (Debian package dnsmasq-base)")
        _write(d / "args", "\0".join(args))
        proc = await asyncio.create_subprocess_exec(
            binary, *args[1:], stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()  # it forks and the parent exits once it serves
        if proc.returncode != 0:
            raise DhcpError(f"dnsmasq refused to start: {err.decode(errors='replace')[:300]}")
        log.info("dnsmasq serves DHCP on %s (network %s)", bridge, network_id)

    def pid(self, network_id: str) -> int | None:
        """The network's running dnsmasq, checked by its command line (PIDs are reused)."""
        d = self._dir(network_id)
        try:
            pid = int((d / "pid").read_text().strip())
            argv = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if f"--pid-file={d / 'pid'}".encode() in argv else None

    async def stop(self, network_id: str) -> None:
        """End the network's dnsmasq and remove its files."""
        await self._kill(network_id)
        shutil.rmtree(self._dir(network_id), ignore_errors=True)

    async def _kill(self, network_id: str) -> None:
        pid = self.pid(network_id)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if self.pid(network_id) is None:
                    break
                await asyncio.sleep(0.05)

    def networks(self) -> list[str]:
        """Networks that have DHCP state here (running or left behind)."""
        if not self.root.is_dir():
            return []
        return [p.name for p in self.root.iterdir() if p.is_dir()]


def stop_all(prefix: str) -> list[int]:
    """End every dnsmasq of the installation with ``prefix`` and remove its files.

    For tear-down (tests, uninstall): the service itself stops a network's
    dnsmasq when the network goes. Returns the PIDs it signalled.
    """
    d = Dhcp(dhcp_dir(prefix))
    ended = []
    for network_id in d.networks():
        pid = d.pid(network_id)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                ended.append(pid)
    shutil.rmtree(d.root.parent, ignore_errors=True)
    return ended


def _argv(binary: str, d: Path, bridge: str, subnets: Sequence[DhcpSubnet]) -> list[str]:
    argv = [
        binary,
        "--conf-file=/dev/null",
        "--no-hosts",
        "--no-resolv",
        "--port=0",  # no DNS
        f"--pid-file={d / 'pid'}",
        f"--dhcp-hostsfile={d / 'host'}",
        f"--dhcp-optsfile={d / 'opts'}",
        "--leasefile-ro",
        "--dhcp-authoritative",
        "--bind-interfaces",
        f"--interface={bridge}",
        "--except-interface=lo",
        f"--log-facility={d / 'log'}",
        "--log-dhcp",
    ]
    for s in subnets:
        net = ipaddress.IPv4Network(s.cidr)
        argv.append(
            f"--dhcp-range=set:{_tag(s)},{net.network_address},static,{net.netmask},{LEASE}"
        )
    argv.append(
        f"--dhcp-lease-max={sum(ipaddress.IPv4Network(s.cidr).num_addresses for s in subnets)}"
    )
    return argv


def _tag(s: DhcpSubnet) -> str:
    return "s" + s.id.replace("-", "")[:12]


def _host_line(h: DhcpHost) -> str:
    name = "host-" + h.address.replace(".", "-")
    return f"{h.mac},{name},{h.address}\n"


def _opts_lines(s: DhcpSubnet) -> str:
    tag = _tag(s)
    return f"tag:{tag},option:router,{s.gateway}\ntag:{tag},option:mtu,{s.mtu}\n"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
