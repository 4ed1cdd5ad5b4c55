"""Fuzz: every S3 XML request body parser answers junk with a 4xx S3 error, never a crash.

Documents are generated from each operation's own element names (so the
parsers get past the root check and meet odd structure and odd values), with
numbers and texts from a dictionary of values that broke parsers before
(Unicode digits, thousands of digits, blanks), and then sometimes mangled
byte-wise. The property: the parser returns, or raises ``S3Error`` with a
4xx status; any other exception (a 500 on the wire) fails the test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from s3compat import complete, cors, delete_many, meta, xmlio
from s3compat.errors import S3Error
from tests.helpers.fuzz import budget
from tests.helpers.xmlfuzz import CORS_NAMES, CORS_SHAPE, NUMBER, TEXT, document


def answers_with_s3_error(parse: Callable[[], Any]) -> Any:
    """Run a parser: its result, or None after a 4xx S3Error; anything else fails."""
    try:
        return parse()
    except S3Error as err:
        assert 400 <= err.status < 500, (err.code, err.message)
        return None


COMPLETE = ["Part", "PartNumber", "ETag", *(f"Checksum{a}" for a in ("CRC32", "SHA256"))]


@budget(150)
@given(
    document(
        "CompleteMultipartUpload",
        COMPLETE,
        {"Part": {"PartNumber": NUMBER, "ETag": TEXT, "ChecksumCRC32": TEXT}},
    )
)
def test_fuzz_complete_multipart_upload(body: bytes) -> None:
    parts = answers_with_s3_error(
        lambda: complete._parse(xmlio.parse_xml(body, "CompleteMultipartUpload"))
    )
    if parts is not None:
        numbers = [p.number for p in parts]
        assert numbers == sorted(set(numbers)) and all(isinstance(n, int) for n in numbers)


@budget(100)
@given(
    document(
        "Delete",
        ["Object", "Key", "VersionId", "Quiet"],
        {"Quiet": TEXT, "Object": {"Key": TEXT, "VersionId": TEXT}},
    )
)
def test_fuzz_delete_objects(body: bytes) -> None:
    parsed = answers_with_s3_error(lambda: delete_many._parse(xmlio.parse_xml(body, "Delete")))
    if parsed is not None:
        assert 1 <= len(parsed[1]) <= delete_many.MAX_KEYS


@budget(150)
@given(
    document(
        "CORSConfiguration",
        CORS_NAMES,
        CORS_SHAPE,
    )
)
def test_fuzz_cors_configuration(body: bytes) -> None:
    def parse() -> list[dict[str, Any]]:
        root = xmlio.parse_xml(body, "CORSConfiguration")
        return [cors._parse_rule(e) for e in root.findall("CORSRule")]

    rules = answers_with_s3_error(parse)
    for rule in rules or []:
        assert rule["max_age"] is None or rule["max_age"] >= 0
        assert set(rule["methods"]) <= set(cors.METHODS)


@budget(100)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=128), st.text(max_size=256)), max_size=12))
def test_fuzz_tag_sets_are_checked_and_stored_losslessly(pairs: list[tuple[str, str]]) -> None:
    """Tagging documents (the XML side is fuzzed through the app) keep their tags exactly."""
    try:
        meta.check_tags(pairs)
    except S3Error as err:
        assert err.code == "InvalidTag"
        assert len(pairs) > meta.MAX_TAGS or len({k for k, _ in pairs}) < len(pairs)
        return
    assert meta.decode_tags(meta.encode_tags(pairs)) == pairs


@budget(100)
@given(st.binary(max_size=2048))
def test_fuzz_raw_bytes(body: bytes) -> None:
    for root in ("CompleteMultipartUpload", "Delete", "VersioningConfiguration"):
        answers_with_s3_error(lambda root=root: xmlio.parse_xml(body, root))


def test_huge_and_hostile_documents_are_refused_cheaply() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete>&b;</Delete>'
    )
    external = b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete>&x;</Delete>'
    for body in (bomb, external, b"<Delete>" + b" " * xmlio.MAX_XML_BODY + b"</Delete>"):
        assert answers_with_s3_error(lambda body=body: xmlio.parse_xml(body, "Delete")) is None
