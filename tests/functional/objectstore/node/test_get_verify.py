"""Through the proxy core: a replica that turns out corrupt on GET is skipped, not served."""

from __future__ import annotations

import os
from pathlib import Path

from objectstore.proxy.models import ObjectMetadata


async def test_reads_go_around_corrupt_replicas(make_cluster) -> None:
    cluster = await make_cluster(proxy=False)
    core = cluster.core
    await core.put_container("AUTH_v", "c")
    body = os.urandom(150_000)  # a body file (inline threshold 64 KiB)
    await core.put_object("AUTH_v", "c", "o", body, ObjectMetadata(content_type="t"))
    _part, primaries = cluster.rings.object.get_nodes("AUTH_v", "c", "o")
    # Two of the three replicas rot on disk.
    for dev in primaries[:2]:
        root = Path(cluster.node_of(dev).settings.devices_dir) / dev.device / "objects"
        (path,) = root.rglob("*.data")
        with open(path, "r+b") as fh:
            fh.seek(1234)
            fh.write(b"\x00\x01\x02")
    for _ in range(3):
        _info, stream = await core.get_object("AUTH_v", "c", "o")
        assert await stream.read() == body
    quarantined = [
        len(
            list(
                (Path(cluster.node_of(d).settings.devices_dir) / d.device).rglob(
                    "quarantined/objects/*.data"
                )
            )
        )
        for d in primaries
    ]
    assert quarantined == [1, 1, 0]
