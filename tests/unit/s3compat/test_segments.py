from __future__ import annotations

from s3compat import segments


def test_manifest_listing_rows_read_back() -> None:
    ctype = segments.manifest_content_type("video/mp4", 123456, "abc-3")
    assert segments.listing_row(ctype, 240, "md5ofmanifest") == ("video/mp4", 123456, "abc-3")
    assert segments.listing_row("text/plain", 5, "e") == ("text/plain", 5, "e")
    assert (
        segments.strip_params("text/plain;charset=utf-8;swift_bytes=9")
        == "text/plain;charset=utf-8"
    )
