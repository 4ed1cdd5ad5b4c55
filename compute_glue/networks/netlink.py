"""The host side of networks: bridges, taps and addresses through pyroute2's asyncio API.

Every call is idempotent (``ensure_*`` converge, ``delete`` of a missing
link is no error), so the manager can run them again after a crash or at
start-up. Names are never made here: callers pass the names of
``networks.model``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

log = logging.getLogger("compute_glue.networks.netlink")


class HostNet:
    """Linux bridges and taps of this host (needs CAP_NET_ADMIN)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def _index(self, ipr: Any, name: str) -> int | None:
        found = await ipr.link_lookup(ifname=name)
        return found[0] if found else None

    async def ensure_bridge(self, name: str, mtu: int = 1500) -> None:
        async with self._lock, AsyncIPRoute() as ipr:
            index = await self._index(ipr, name)
            if index is None:
                await ipr.link("add", ifname=name, kind="bridge")
                index = await self._index(ipr, name)
                log.info("bridge %s created", name)
            await ipr.link("set", index=index, mtu=mtu, state="up")

    async def ensure_tap(self, name: str, bridge: str) -> None:
        """A persistent tap on ``bridge``, up; QEMU opens it by name."""
        async with self._lock, AsyncIPRoute() as ipr:
            master = await self._index(ipr, bridge)
            if master is None:
                raise LookupError(f"bridge {bridge} does not exist")
            index = await self._index(ipr, name)
            if index is None:
                await ipr.link("add", ifname=name, kind="tuntap", mode="tap")
                index = await self._index(ipr, name)
                log.info("tap %s created on %s", name, bridge)
            await ipr.link("set", index=index, master=master, state="up")

    async def ensure_address(self, name: str, address: str, prefixlen: int) -> None:
        async with self._lock, AsyncIPRoute() as ipr:
            index = await self._index(ipr, name)
            if index is None:
                raise LookupError(f"link {name} does not exist")
            try:
                await ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise

    async def remove_address(self, name: str, address: str, prefixlen: int) -> None:
        async with self._lock, AsyncIPRoute() as ipr:
            index = await self._index(ipr, name)
            if index is None:
                return
            try:
                await ipr.addr("del", index=index, address=address, prefixlen=prefixlen)
            except NetlinkError as exc:
                if exc.code not in (errno.EADDRNOTAVAIL, errno.ENOENT, errno.ESRCH):
                    raise

    async def delete(self, name: str) -> bool:
        """Remove a link; False when it was not there."""
        async with self._lock, AsyncIPRoute() as ipr:
            index = await self._index(ipr, name)
            if index is None:
                return False
            try:
                await ipr.link("del", index=index)
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    raise
                return False
            log.info("link %s deleted", name)
            return True

    async def links(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Links whose name starts with ``prefix``: name -> {kind, master, up, addresses}."""
        async with self._lock, AsyncIPRoute() as ipr:
            by_index: dict[int, str] = {}
            out: dict[str, dict[str, Any]] = {}
            # pyroute2 is unannotated: its inferred return mixes lists and None in with the
            # async iterator that "dump" gives.
            async for link in await ipr.link("dump"):  # pyright: ignore[reportGeneralTypeIssues]
                name = link.get("ifname") or ""
                by_index[link["index"]] = name
                if not name.startswith(prefix):
                    continue
                info = link.get(("IFLA_LINKINFO", "IFLA_INFO_KIND"))
                out[name] = {
                    "index": link["index"],
                    "kind": info,
                    "master": link.get("master"),
                    "up": bool(link["flags"] & 1),
                    "addresses": [],
                }
            async for addr in await ipr.addr("dump"):  # pyright: ignore[reportGeneralTypeIssues, reportOptionalIterable]
                name = by_index.get(addr["index"], "")
                if name in out:
                    out[name]["addresses"].append(f"{addr.get('address')}/{addr['prefixlen']}")
            for entry in out.values():
                entry["master"] = by_index.get(entry["master"]) if entry["master"] else None
            return out
