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


def test_swift_form_and_listing_params() -> None:
    stored = b'[{"name": "/c/a", "bytes": 9, "hash": "h", "range": "2-4"}, {"data": "WFla"}]'
    system = {manifest.MARK: manifest.SLO}
    ranged, inline = manifest.load(system, stored)
    assert (ranged.container, ranged.name, ranged.length, inline.data) == ("c", "a", 3, b"XYZ")
    assert manifest.offsets([ranged, inline]) == [(0, 3), (3, 6)]
    with pytest.raises(errors.InvalidInput):
        manifest.load(system, b'[{"name": "/c/a", "bytes": 9, "hash": "h", "range": "4-2"}]')
    with pytest.raises(errors.InvalidInput):
        manifest.load(system, b'{"format": 1, "segments": []}')
    assert manifest.with_listing_params("text/y", "text/x;swift_bytes=9;slo_etag=e") == (
        "text/y;swift_bytes=9;slo_etag=e"
    )
    assert manifest.split_listing_params("a/b;q=1;swift_bytes=3") == (
        "a/b;q=1",
        {"swift_bytes": "3"},
    )
