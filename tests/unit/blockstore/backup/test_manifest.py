"""Backup manifests: versioned, validated, and complete (one per backup, no chain)."""

from __future__ import annotations

import msgpack
import pytest

from blockstore.backup.manifest import MAGIC, VERSION, Manifest, ManifestError, max_bytes

CHUNK = 64 * 1024


def sample() -> Manifest:
    return Manifest(
        "b1", "v1", size=2 * CHUNK + 10, chunk_size=CHUNK, chunks=[b"a" * 16, None, b"b" * 16]
    )


def test_round_trip() -> None:
    man = sample()
    raw = man.encode()
    assert raw[:4] == MAGIC and raw[4] == VERSION
    back = Manifest.decode(raw)
    assert back == man and back.digests() == {b"a" * 16, b"b" * 16}


def test_bad_manifests_are_refused() -> None:
    raw = sample().encode()
    with pytest.raises(ManifestError, match="not a backup manifest"):
        Manifest.decode(b"JUNK" + raw[4:])
    with pytest.raises(ManifestError, match="version"):
        Manifest.decode(MAGIC + bytes([VERSION + 1]) + raw[5:])
    body = msgpack.unpackb(raw[5:])
    body["chunks"] = body["chunks"][:2]  # fewer chunks than the size needs
    with pytest.raises(ManifestError, match="count"):
        Manifest.decode(MAGIC + bytes([VERSION]) + msgpack.packb(body))
    body["chunks"] = [b"short", None, None]
    with pytest.raises(ManifestError, match="digest"):
        Manifest.decode(MAGIC + bytes([VERSION]) + msgpack.packb(body))
    with pytest.raises(ManifestError):
        Manifest.decode(MAGIC + bytes([VERSION]) + b"\xc1")


def test_a_manifest_must_fit_its_backup() -> None:
    """The object is in the tenant's account: sizes must match what the records say."""
    man = sample()
    raw = man.encode()
    assert Manifest.decode(raw, backup_id="b1", size=man.size) == man
    assert len(raw) <= max_bytes(man.size)
    with pytest.raises(ManifestError, match="another backup"):
        Manifest.decode(raw, backup_id="b2", size=man.size)
    with pytest.raises(ManifestError, match="differs"):
        Manifest.decode(raw, backup_id="b1", size=man.size - 1)
    assert Manifest.decode(raw, chunks=3) == man and len(raw) <= max_bytes(man.size, 3)
    with pytest.raises(ManifestError, match="lists 3 chunks, not 2"):
        Manifest.decode(raw, chunks=2)
    body = msgpack.unpackb(raw[5:])
    for chunk_size in (0, -1, 4, 1 << 40):
        body["chunk_size"] = chunk_size
        with pytest.raises(ManifestError, match="chunk size"):
            Manifest.decode(MAGIC + bytes([VERSION]) + msgpack.packb(body))
