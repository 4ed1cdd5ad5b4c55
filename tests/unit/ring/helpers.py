"""Builders of small clusters shared by the ring tests."""

from __future__ import annotations

from collections.abc import Iterable

from ring import RingBuilder

HOUR = 3600.0


def add_devices(
    builder: RingBuilder, specs: Iterable[tuple[int, int, int, float]], first: int = 0
) -> list[int]:
    """Add (region, zone, node, weight) devices; node n of zone z is ip 10.<r>.<z>.<n>."""
    ids = []
    for i, (region, zone, node, weight) in enumerate(specs, start=first):
        ids.append(
            builder.add_device(
                region=region,
                zone=zone,
                ip=f"10.{region}.{zone}.{node}",
                port=6200,
                device=f"d{i}",
                weight=weight,
            )
        )
    return ids


def rows(builder: RingBuilder) -> list[tuple[int, ...]]:
    """Each partition's device ids, in replica order."""
    table = builder.replica_table
    assert table is not None
    return list(zip(*table, strict=True))


def zone_of(builder: RingBuilder) -> dict[int, tuple[int, int]]:
    return {d.id: (d.region, d.zone) for d in builder.devices}


def weighted_zones(builder: RingBuilder) -> int:
    return len({(d.region, d.zone) for d in builder.devices if d.weight > 0})


def changed_slots(before: list[tuple[int, ...]], after: list[tuple[int, ...]]) -> list[tuple]:
    """(partition, replica, old device, new device) of every slot that changed."""
    out = []
    for p, (old, new) in enumerate(zip(before, after, strict=True)):
        for r, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                out.append((p, r, a, b))
    return out
