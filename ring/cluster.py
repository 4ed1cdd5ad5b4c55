"""The rings of a whole cluster from a list of nodes: what `stratus up` builds."""

from __future__ import annotations

import os
from pathlib import Path

from ring.builder import RingBuilder
from ring.errors import RingBuilderError, RingFileError
from ring.ringfile import read_ring_file

RING_NAMES = ("account", "container", "object")
DEFAULT_WEIGHT = 100.0


def _wanted(
    nodes: list[tuple[str, int, list[str]]], zones_per_node: bool
) -> list[tuple[int, int, str, int, str]]:
    """(region, zone, ip, port, device) of every device, in node order."""
    out = []
    for i, (ip, port, devices) in enumerate(nodes):
        zone = i + 1 if zones_per_node else 1
        out += [(1, zone, ip, port, name) for name in devices]
    return out


def _same(builder: RingBuilder, wanted: list[tuple[int, int, str, int, str]]) -> bool:
    have = sorted((d.region, d.zone, d.ip, d.port, d.device) for d in builder.devices)
    return have == sorted(wanted)


def build_cluster_rings(
    ring_dir: str | os.PathLike[str],
    nodes: list[tuple[str, int, list[str]]],
    *,
    part_power: int,
    replicas: int,
    min_part_hours: int = 1,
    seed: int = 0,
    zones_per_node: bool = True,
) -> None:
    """Write ``{account,container,object}.{builder,ring}`` under ``ring_dir``.

    One device per (ip, port, device name), weight 100, region 1; each node is
    its own zone unless ``zones_per_node`` is false. Idempotent: a builder that
    already holds exactly these devices is left alone (its ring is rewritten
    only if missing or unreadable); one whose devices differ is updated and
    rebalanced, so growing a cluster keeps most data where it is.
    """
    directory = Path(ring_dir)
    for missing in reversed([d for d in (directory, *directory.parents) if not d.exists()]):
        missing.mkdir(mode=0o700, exist_ok=True)  # parents too: data stays the service user's
    wanted = _wanted(nodes, zones_per_node)
    if not wanted:
        raise RingBuilderError("a cluster ring needs at least one device")
    for offset, name in enumerate(RING_NAMES):
        builder_path = directory / f"{name}.builder"
        ring_path = directory / f"{name}.ring"
        if builder_path.exists():
            builder = RingBuilder.load(builder_path)
            if (builder.part_power, builder.replicas) != (part_power, replicas):
                raise RingBuilderError(
                    f"{builder_path} has part power {builder.part_power} and "
                    f"{builder.replicas} replicas, not {part_power} and {replicas}; "
                    "these cannot change in place (move the ring directory away to rebuild)"
                )
            if _same(builder, wanted) and not builder.pending_changes:
                if not _readable(ring_path):
                    builder.write_ring(ring_path)
                continue
            _converge(builder, wanted)
        else:
            builder = RingBuilder(part_power, replicas, min_part_hours)
            for region, zone, ip, port, device in wanted:
                builder.add_device(
                    region=region, zone=zone, ip=ip, port=port, device=device, weight=DEFAULT_WEIGHT
                )
        builder.rebalance(seed=seed + offset)
        builder.save(builder_path)
        builder.write_ring(ring_path)


def _converge(builder: RingBuilder, wanted: list[tuple[int, int, str, int, str]]) -> None:
    """Add the missing devices and remove the ones no longer wanted."""
    want = set(wanted)
    for dev in builder.devices:
        if (dev.region, dev.zone, dev.ip, dev.port, dev.device) not in want:
            builder.remove_device(dev.id)
    have = {(d.region, d.zone, d.ip, d.port, d.device) for d in builder.devices}
    for region, zone, ip, port, device in wanted:
        if (region, zone, ip, port, device) not in have:
            builder.add_device(
                region=region, zone=zone, ip=ip, port=port, device=device, weight=DEFAULT_WEIGHT
            )


def _readable(ring_path: Path) -> bool:
    try:
        read_ring_file(ring_path)
    except RingFileError:
        return False
    return True
