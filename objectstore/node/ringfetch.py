"""Fetching newer rings from a designated node (``cluster.ring_source``), on a schedule.

The pull side of keeping rings in step across hosts: a node that was down
during `stratus ring push` (or a cluster that prefers pulling) asks the
source node for its three rings every ``ring_fetch_interval`` seconds and
installs each one that is newer, through the same checks as a push
(``handle_ring.install``: whole, same shape, higher version, written
atomically). Both the request and the answer are signed with the cluster's
key, so nobody in between can hand the node a ring.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from objectstore.common.ringsign import RING_NAMES
from objectstore.common.values import NodeClientError
from objectstore.node.handle_ring import install
from objectstore.node.worker import Worker
from ring import Outcome, RingFileError, RingRefused

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RingSource:
    """The node rings are fetched from (addressed like a ring device)."""

    ip: str
    port: int
    device: str = "-"


class RingFetcher(Worker):
    """Every ``interval`` s: each ring from the source, installed when newer."""

    name = "ring-fetcher"

    def __init__(self, state: NodeState, source: RingSource, key: bytes, interval: float) -> None:
        super().__init__(interval)
        self.state = state
        self.source = source
        self.key = key

    async def run_pass(self) -> dict[str, Any]:
        stats = {"installed": 0, "current": 0, "refused": 0, "errors": 0}
        for name in RING_NAMES:
            try:
                blob = await self.state.client.fetch_ring(self.source, name, self.key)
                done = await install(self.state, name, blob, source=f"{name} ring from source")
            except (RingRefused, RingFileError) as exc:
                stats["refused"] += 1  # the source is behind this node, or its file is bad
                log.warning("ring from %s:%s refused: %s", self.source.ip, self.source.port, exc)
            except NodeClientError as exc:
                stats["errors"] += 1
                log.info("ring fetch from %s:%s failed: %s", self.source.ip, self.source.port, exc)
            else:
                stats["installed" if done.outcome is Outcome.INSTALLED else "current"] += 1
        return stats
