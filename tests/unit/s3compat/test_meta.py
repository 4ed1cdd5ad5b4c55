from __future__ import annotations

import pytest

from objectstore.proxy.models import ObjectInfo
from objectstore.timestamp import Timestamp
from s3compat import meta
from s3compat.errors import S3Error


def test_user_metadata_and_its_limit() -> None:
    got = meta.user_metadata({"x-amz-meta-color": "blue", "content-type": "t"})
    assert got == {"color": "blue"}
    with pytest.raises(S3Error) as exc:
        meta.user_metadata({"x-amz-meta-big": "x" * 2100})
    assert exc.value.code == "MetadataTooLarge"


@pytest.mark.parametrize(
    "value,kept",
    [
        ("aws-chunked", None),
        ("aws-chunked,gzip", "gzip"),
        ("foo, aws-chunked, bar", "foo, bar"),
        ("gzip", "gzip"),
        (None, None),
    ],
)
def test_aws_chunked_is_not_a_content_encoding(value: str | None, kept: str | None) -> None:
    streamed = {"x-amz-decoded-content-length": "5"}
    headers = streamed if value is None else {**streamed, "content-encoding": value}
    assert meta.content_encoding(headers) == kept


def test_a_body_sent_whole_keeps_its_declared_encoding() -> None:
    assert meta.content_encoding({"content-encoding": "aws-chunked"}) == "aws-chunked"


def test_tags_parse_validate_and_round_trip() -> None:
    pairs = meta.parse_tagging("a=1&b%20c=d%26e&empty=")
    assert pairs == [("a", "1"), ("b c", "d&e"), ("empty", "")]
    assert meta.decode_tags(meta.encode_tags(pairs)) == pairs
    for bad in ("a=1&a=2", "&".join(f"k{i}=v" for i in range(11)), "=v"):
        with pytest.raises(S3Error):
            meta.parse_tagging(bad)


def test_storage_class() -> None:
    assert meta.storage_class({"x-amz-storage-class": "GLACIER"}) == "GLACIER"
    assert meta.storage_class({}) is None
    with pytest.raises(S3Error) as exc:
        meta.storage_class({"x-amz-storage-class": "COLD"})
    assert exc.value.code == "InvalidStorageClass"


def test_object_headers() -> None:
    info = ObjectInfo(
        name="k",
        timestamp=Timestamp(1700000000.5),
        size=3,
        etag="abc",
        content_type="text/plain",
        user={"m": "1"},
        attributes={"content-disposition": "inline"},
        system={
            meta.STORAGE_CLASS: "STANDARD_IA",
            meta.TAGS: "a=1&b=2",
            meta.CHECKSUM: "CRC32:AAAAAA==",
            meta.VERSION_ID: "v",
        },
    )
    h = meta.object_headers(info)
    assert h["ETag"] == '"abc"' and h["x-amz-meta-m"] == "1"
    assert h["Content-Disposition"] == "inline"
    assert h["Last-Modified"] == "Tue, 14 Nov 2023 22:13:21 GMT"  # rounded up
    assert (h["x-amz-tagging-count"], h["x-amz-version-id"]) == ("2", "v")
    assert "x-amz-checksum-crc32" not in h
    assert meta.object_headers(info, checksum_mode=True)["x-amz-checksum-crc32"] == "AAAAAA=="
