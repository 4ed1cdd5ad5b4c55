"""Backup manifests: versioned, validated, and complete (one per backup, no chain)."""

from __future__ import annotations

import msgpack
import pytest

from blockstore.backup.manifest import MAGIC, VERSION, Manifest, ManifestError


def sample() -> Manifest:
    return Manifest("b1", "v1", size=10, chunk_size=4, chunks=[b"a" * 16, None, b"b" * 16])


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
