from __future__ import annotations

import hashlib
import zlib

import pytest

from objectstore.proxy.manifest import Segment
from s3compat import checksums, complete, xmlio
from s3compat.errors import S3Error


def _doc(parts: list[tuple[int, str]]) -> bytes:
    return xmlio.to_xml(
        "CompleteMultipartUpload", {"Part": [{"PartNumber": n, "ETag": e} for n, e in parts]}
    )


def test_parse_and_order() -> None:
    root = xmlio.parse_xml(_doc([(1, '"a"'), (3, "b")]), "CompleteMultipartUpload")
    assert [(w.number, w.etag) for w in complete._parse(root)] == [(1, "a"), (3, "b")]
    for parts, code in (([(2, "a"), (1, "b")], "InvalidPartOrder"), ([], "MalformedXML")):
        with pytest.raises(S3Error) as exc:
            complete._parse(xmlio.parse_xml(_doc(parts), "CompleteMultipartUpload"))
        assert exc.value.code == code


def test_multipart_etag_is_md5_of_md5s() -> None:
    datas = [b"one", b"two"]
    segs = [Segment("c", f"p{i}", len(d), hashlib.md5(d).hexdigest()) for i, d in enumerate(datas)]
    want = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in datas)).hexdigest() + "-2"
    assert complete.multipart_etag(segs) == want


def test_full_object_crc_is_combined_from_parts() -> None:
    datas = [b"a" * 1000, b"bb" * 777, b"c"]
    segs = [Segment("c", str(i), len(d), "") for i, d in enumerate(datas)]
    values = [zlib.crc32(d).to_bytes(4, "big") for d in datas]
    whole = checksums.compute("CRC32", b"".join(datas))
    assert complete._combine("CRC32", "FULL_OBJECT", values, segs) == whole
    composite = complete._combine("CRC32", "COMPOSITE", values, segs)
    assert composite == checksums.compute("CRC32", b"".join(values)) + "-3"
    with pytest.raises(S3Error):
        complete._combine("SHA256", "FULL_OBJECT", values, segs)
