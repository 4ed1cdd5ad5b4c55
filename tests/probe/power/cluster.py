"""A probe cluster whose storage nodes keep their devices on LazyFS mounts.

``cut(i)`` is a power cut of host ``i``: its node process dies by SIGKILL
and its file system loses everything not made durable, then the host boots
(the mount comes back over the same backing directory) and the node starts.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from stratus import config
from stratus.cli import cluster as layout
from tests.helpers.lazyfs import LazyFS
from tests.helpers.tools import missing_tool, need_tool
from tests.probe.objectstore.harness import ProbeCluster, probe_cluster


def lost(cuts: list[dict]) -> str:
    """What a list of cuts took away, in one phrase."""
    pages = sum(c.get("pages_restored", 0) for c in cuts)
    names = sum(c.get("name_ops_undone", 0) for c in cuts)
    return f"{len(cuts)} cuts (they took back {pages} unsynced pages, {names} unsynced names)"


def need_fuse() -> None:
    need_tool("fusermount3", "fuse3")
    if not os.path.exists("/dev/fuse"):
        missing_tool("/dev/fuse is missing")
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        missing_tool(f"mfusepy cannot load libfuse 3: {exc}")


@dataclass
class PowerCluster:
    cluster: ProbeCluster
    disks: list[LazyFS]
    rng: random.Random
    cuts: list[dict] = field(default_factory=list)
    failed_starts: list[str] = field(default_factory=list)

    async def cut(self, index: int) -> dict:
        self.cluster.kill9(index)
        lost = self.disks[index].crash(
            torn=self.rng.random() < 0.5, seed=self.rng.randrange(1 << 30)
        )
        self.disks[index].start()
        await self.cluster.start_node(index)
        self.cuts.append({"node": index, **lost})
        return lost

    async def cut_all(self) -> list[dict]:
        """Every host at once: all processes die before any disk forgets."""
        for i in range(len(self.disks)):
            self.cluster.kill9(i)
        out = []
        for i, disk in enumerate(self.disks):
            out.append({"node": i, **disk.crash(torn=True, seed=self.rng.randrange(1 << 30))})
        for disk in self.disks:
            disk.start()
        self.cuts += out
        for i in range(len(self.disks)):
            try:
                await self.cluster.start_node(i)
            except AssertionError as exc:  # LMDB that no longer opens, a node that crashes
                self.failed_starts.append(f"node{i} did not start after the cut: {exc}")
        return out


@contextlib.asynccontextmanager
async def power_cluster(root: Path, *, seed: int, nodes: int = 3) -> AsyncIterator[PowerCluster]:
    need_fuse()
    disks: list[LazyFS] = []

    def mount(cfg: config.Config) -> None:
        for i in range(nodes):
            disk = LazyFS(
                root / "disks" / f"node{i}",
                layout.node_dir(cfg, i),
                root / f"lazyfs{i}.sock",
                root / f"lazyfs{i}.log",
            )
            disks.append(disk)
            disk.start()

    try:
        async with probe_cluster(root, nodes=nodes, before_start=mount) as c:
            yield PowerCluster(c, disks, random.Random(seed))
    finally:
        for disk in disks:
            disk.stop()
