from __future__ import annotations

import pytest

from objectstore.proxy import errors, manifest
from objectstore.proxy.models import ObjectInfo
from objectstore.timestamp import Timestamp


def test_encode_decode_and_offsets() -> None:
    segs = [
        manifest.Segment("c+segments", "p/u/00001", 5, "e1"),
        manifest.Segment("c", "x", 3, "e2"),
    ]
    assert manifest.decode(manifest.encode(segs)) == segs
    assert manifest.offsets(segs) == [(0, 5), (5, 8)]
    system = manifest.system_entries(segs, "etag-2")
    assert manifest.is_manifest(system) and manifest.logical_size(system, 100) == 8


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b'{"format": 2, "segments": []}', b'{"format": 1, "segments": [[1]]}']
)
def test_refuses_what_is_not_a_manifest(raw: bytes) -> None:
    with pytest.raises(errors.InvalidInput):
        manifest.decode(raw)


def test_present_shows_the_whole_object() -> None:
    segs = [manifest.Segment("c", "a", 10, "x")]
    info = ObjectInfo(
        name="o",
        timestamp=Timestamp(1.0),
        size=77,
        etag="md5-of-manifest",
        content_type="text/plain;swift_bytes=10;s3_etag=abc-1",
        system=manifest.system_entries(segs, "abc-1"),
    )
    shown = manifest.present(info)
    assert (shown.size, shown.etag, shown.content_type) == (10, "abc-1", "text/plain")
    plain = ObjectInfo(name="p", timestamp=Timestamp(1.0), size=1, etag="e", content_type="t")
    assert manifest.present(plain) is plain
