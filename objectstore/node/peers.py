"""Peers a replication pass may skip, asked again at the start of every pass.

The error limiter spares a pass from failing on a dead peer partition after
partition. A limit left by an earlier pass (the peer was down a moment ago)
must not make this pass skip a peer that has restarted since: the next pass
is the one that heals it (docs/durability.md). The object, container and
account replicators share one limiter and ask through this one function.
"""

from __future__ import annotations

import asyncio
from typing import Any

from objectstore.common import values as nc
from objectstore.common.errorlimit import ErrorLimiter


async def recheck_limited(limiter: ErrorLimiter, client: Any, ring: Any) -> None:
    """Ask each error-limited peer node once whether it answers; forget the errors of those
    that do. A peer still down stays skipped for this pass, at the cost of one request."""
    nodes: dict[tuple[str, int], list[Any]] = {}
    for dev in ring.devices:
        if limiter.is_limited(dev):
            nodes.setdefault((dev.ip, dev.port), []).append(dev)

    async def ask(devs: list[Any]) -> None:
        try:
            await client.healthcheck(devs[0])
        except nc.NodeClientError:
            return
        for dev in devs:
            limiter.clear(dev)

    await asyncio.gather(*(ask(devs) for devs in nodes.values()))
