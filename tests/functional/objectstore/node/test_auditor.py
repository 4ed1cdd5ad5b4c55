"""The auditor and the GET's own check: corrupt replicas are set aside, never served."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from objectstore.client import NodeClientError, NotFound
from objectstore.node import hashes
from objectstore.node.objects import INLINE_TABLE
from tests.functional.objectstore.node.test_replicator import A, C, holders, put


def flip(path: str, at: int = 10) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        byte = fh.read(1)
        fh.seek(at)
        fh.write(bytes([byte[0] ^ 0xFF]))


def entry(dev, part: int):
    with dev.read() as txn:
        ((key, rec),) = hashes.entries(txn, part, range(256), 0)
    return key, rec


def quarantined(dev) -> list[str]:
    qdir = os.path.join(dev.root, "quarantined", "objects")
    return sorted(os.listdir(qdir)) if os.path.isdir(qdir) else []


async def test_the_auditor_quarantines_and_replication_repairs(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "rot")
    body = os.urandom(200_000)
    for dev in primaries:
        await put(c.client, dev, part, "rot", body)
    victim = c.device_of(primaries[1])
    _, rec = entry(victim, part)
    flip(victim.body_path(rec.path))
    results = await c.run("auditor")
    expected = [int(n is c.node_of(primaries[1])) for n in c.nodes]
    assert [r["last"]["quarantined"] for r in results] == expected
    assert all(r["last"]["checked"] == 1 for r in results)
    names = quarantined(victim)
    assert len(names) == 2  # the moved body and a note of what the index said
    note_path = os.path.join(victim.root, "quarantined", "objects", names[1])
    with open(note_path) as fh:
        note = json.load(fh)
    assert note["etag"] == hashlib.md5(body).hexdigest() and note["by"] == "auditor"
    assert await holders(c, "rot", primaries) == [body, None, body]  # gone, not served
    metrics = await c.client.node_metrics(primaries[1])
    assert 'stratus_objects_quarantined_total{by="auditor",device="d0"} 1.0' in metrics
    await c.replicate()
    assert await holders(c, "rot", primaries) == [body] * 3


async def test_an_inline_body_is_audited_too(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "small")
    await put(c.client, primaries[0], part, "small", b"tiny body")
    dev = c.device_of(primaries[0])
    key, _ = entry(dev, part)

    def damage(txn):  # what a bad disk sector would do under the index
        txn.put(INLINE_TABLE, key, b"tiny bodY")

    await dev.submit(damage)
    # The GET checks an inline body before sending it: 404, and it is set aside.
    with pytest.raises(NotFound):
        await c.client.get_object(primaries[0], part, A, C, "small")
    assert len(quarantined(dev)) == 2
    results = await c.run("auditor", [c.node_of(primaries[0])])
    assert results[0]["last"]["checked"] == 0  # nothing left to check


async def test_get_checks_a_small_file_body_before_sending(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "mid")
    await put(c.client, primaries[0], part, "mid", os.urandom(50_000))
    dev = c.device_of(primaries[0])
    _, rec = entry(dev, part)
    flip(dev.body_path(rec.path), 49_000)
    with pytest.raises(NotFound):
        await c.client.get_object(primaries[0], part, A, C, "mid")
    assert len(quarantined(dev)) == 2


async def test_get_cuts_a_large_corrupt_body_short(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "big")
    body = os.urandom(3 * 1024 * 1024)
    await put(c.client, primaries[0], part, "big", body)
    dev = c.device_of(primaries[0])
    _, rec = entry(dev, part)
    flip(dev.body_path(rec.path), 2 * 1024 * 1024)
    stream = await c.client.get_object(primaries[0], part, A, C, "big")
    got = b""
    with pytest.raises(NodeClientError):
        async for chunk in stream.iter_chunks():
            got += chunk
    assert len(got) < len(body)  # the client never holds a whole, wrong body
    assert len(quarantined(dev)) == 2
    with pytest.raises(NotFound):
        await c.client.head_object(primaries[0], part, A, C, "big")


async def test_a_missing_body_file_is_noticed(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "lost")
    await put(c.client, primaries[0], part, "lost", os.urandom(9000))
    dev = c.device_of(primaries[0])
    _, rec = entry(dev, part)
    os.unlink(dev.body_path(rec.path))
    with pytest.raises(NotFound):
        await c.client.get_object(primaries[0], part, A, C, "lost")
    with pytest.raises(NotFound):
        await c.client.head_object(primaries[0], part, A, C, "lost")
