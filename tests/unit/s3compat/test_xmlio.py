from __future__ import annotations

from datetime import UTC, datetime

import pytest

from s3compat import xmlio
from s3compat.errors import S3Error


def test_round_trip_with_lists_and_namespace() -> None:
    body = xmlio.to_xml(
        "ListBucketResult",
        {
            "Name": "b<&>",
            "IsTruncated": False,
            "Contents": [{"Key": "a", "Size": 1}, {"Key": "b", "Size": 2}],
            "NextMarker": None,
            "LastModified": datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC),
        },
    )
    assert b"<IsTruncated>false</IsTruncated>" in body
    assert b"NextMarker" not in body
    assert b"2026-11-25T10:00:00.123Z" in body
    root = xmlio.parse_xml(body, "ListBucketResult")
    assert xmlio.text(root, "Name") == "b<&>"
    assert [e.text for e in root.findall("Contents/Key")] == ["a", "b"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<Delete><Object>",
        b"<Other/>",
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Delete>&a;</Delete>',
        b"<Delete>" + b"x" * (xmlio.MAX_XML_BODY + 1) + b"</Delete>",
    ],
)
def test_bad_bodies_are_malformed_xml(body: bytes) -> None:
    with pytest.raises(S3Error) as exc:
        xmlio.parse_xml(body, "Delete")
    assert exc.value.code == "MalformedXML"
