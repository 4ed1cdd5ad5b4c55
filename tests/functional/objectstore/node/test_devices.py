"""Failing and full devices: marked and skipped, and the proxy writes elsewhere."""

from __future__ import annotations

import errno
import os

import pytest

from objectstore.client import InsufficientStorage
from objectstore.proxy.models import ObjectMetadata
from objectstore.timestamp import Timestamp
from tests.functional.objectstore.node.test_replicator import A, C, put


async def test_an_io_error_marks_the_device_failed(ring_cluster, monkeypatch) -> None:
    c = await ring_cluster(nodes=1, replicas=1)
    part, (dev,) = c.ring().get_nodes(A, C, "o")
    await put(c.client, dev, part, "o", os.urandom(5000))
    real_pread = os.pread

    def failing_pread(fd: int, n: int, offset: int) -> bytes:
        if "/objects/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EIO, "Input/output error")
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", failing_pread)
    with pytest.raises(InsufficientStorage):
        await c.client.get_object(dev, part, A, C, "o")
    monkeypatch.undo()
    # From now on the device is skipped for reads and writes alike: 507.
    with pytest.raises(InsufficientStorage):
        await c.client.head_object(dev, part, A, C, "o")
    with pytest.raises(InsufficientStorage):
        await put(c.client, dev, part, "other", b"x")
    stats = await c.client.node_stats(dev)
    assert stats["devices"]["d0"]["unavailable"].startswith("failed")
    assert 'stratus_device_failed{device="d0"} 1.0' in await c.client.node_metrics(dev)
    # The workers leave it alone too.
    (result,) = await c.run("auditor")
    assert result["last"]["checked"] == 0


async def test_a_full_device_answers_507_and_the_proxy_writes_to_a_handoff(make_cluster) -> None:
    cluster = await make_cluster(nodes=4, proxy=False)
    core = cluster.core
    await core.put_container("AUTH_full", "c")
    ring = cluster.rings.object
    part, primaries = ring.get_nodes("AUTH_full", "c", "obj")
    full = cluster.node_of(primaries[0])
    from objectstore.node.server import STATE

    device = full.runner.app[STATE].devices[primaries[0].device]
    device.config.reserve_bytes = 1 << 62  # no disk is that large: every write is refused
    with pytest.raises(InsufficientStorage):
        await cluster.client.put_object(
            primaries[0], part, "AUTH_full", "c", "direct", timestamp=Timestamp.now(),
            body=b"x", content_length=1, content_type="t", metadata={}, container_update=None,
        )  # fmt: skip

    async def body():
        yield b"held elsewhere"

    await core.put_object("AUTH_full", "c", "obj", body(), ObjectMetadata(content_type="t"))
    handoffs = list(ring.get_more_nodes(part))[:3]
    held = 0
    for dev in [*primaries[1:], *handoffs]:
        try:
            await cluster.client.head_object(dev, part, "AUTH_full", "c", "obj")
        except Exception:
            continue
        held += 1
    assert held == 3  # two primaries and a handoff: the full device was skipped
    _info, stream = await core.get_object("AUTH_full", "c", "obj")
    assert await stream.read() == b"held elsewhere"
