"""Listing formats: choosing one, and rendering plain, json and xml."""

from __future__ import annotations

import json
from xml.etree.ElementTree import fromstring

import pytest

from objectstore.proxy.models import ContainerRow, ObjectRow, SubdirRow
from objectstore.proxy.swift.errors import SwiftError
from objectstore.proxy.swift.listing import best_match, listing_type, render
from objectstore.timestamp import Timestamp

T = Timestamp("1700000000.12345")
OBJS = [
    ObjectRow("a<&>.txt", 3, "0" * 32, "text/plain", T),
    SubdirRow("dir/"),
    ObjectRow("é", 0, "1" * 32, "application/octet-stream", T),
]
CONTS = [ContainerRow("c1", 2, 10, T), SubdirRow("d/"), ContainerRow("c2", 0, 0, T)]
# What Swift 2.38's servers and listing_formats write for the same rows.
SWIFT_OBJS_JSON = (
    b'[{"bytes": 3, "hash": "00000000000000000000000000000000", "name": "a<&>.txt", '
    b'"content_type": "text/plain", "last_modified": "2023-11-14T22:13:20.123450"}, '
    b'{"subdir": "dir/"}, {"bytes": 0, "hash": "11111111111111111111111111111111", '
    b'"name": "\\u00e9", "content_type": "application/octet-stream", '
    b'"last_modified": "2023-11-14T22:13:20.123450"}]'
)
SWIFT_OBJS_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c&amp;d"><object>'
    b"<name>a&lt;&amp;&gt;.txt</name><hash>00000000000000000000000000000000</hash>"
    b"<bytes>3</bytes><content_type>text/plain</content_type>"
    b"<last_modified>2023-11-14T22:13:20.123450</last_modified></object>"
    b'<subdir name="dir/"><name>dir/</name></subdir><object><name>\xc3\xa9</name>'
    b"<hash>11111111111111111111111111111111</hash><bytes>0</bytes>"
    b"<content_type>application/octet-stream</content_type>"
    b"<last_modified>2023-11-14T22:13:20.123450</last_modified></object></container>"
)
SWIFT_CONTS_JSON = (
    b'[{"name": "c1", "count": 2, "bytes": 10, "last_modified": '
    b'"2023-11-14T22:13:20.123450", "storage_policy": "Policy-0"}, {"subdir": "d/"}, '
    b'{"name": "c2", "count": 0, "bytes": 0, "last_modified": "2023-11-14T22:13:20.123450", '
    b'"storage_policy": "Policy-0"}]'
)
SWIFT_CONTS_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<account name="AUTH_p">\n<container>'
    b"<name>c1</name><count>2</count><bytes>10</bytes>"
    b"<last_modified>2023-11-14T22:13:20.123450</last_modified>"
    b"<storage_policy>Policy-0</storage_policy></container>\n"
    b'<subdir name="d/" />\n<container><name>c2</name><count>0</count><bytes>0</bytes>'
    b"<last_modified>2023-11-14T22:13:20.123450</last_modified>"
    b"<storage_policy>Policy-0</storage_policy></container>\n</account>"
)


def test_bodies_are_swifts_byte_for_byte() -> None:
    assert render(OBJS, "application/json", "c", "container") == SWIFT_OBJS_JSON
    assert render(OBJS, "application/xml", "c&d", "container") == SWIFT_OBJS_XML
    assert render(CONTS, "application/json", "AUTH_p", "account") == SWIFT_CONTS_JSON
    assert render(CONTS, "text/xml", "AUTH_p", "account") == SWIFT_CONTS_XML
    assert render([], "application/xml", "AUTH_p", "account") == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<account name="AUTH_p">\n</account>'
    )
    assert render([], "application/xml", "c", "container") == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c" />'
    )


def test_format_param_wins() -> None:
    assert listing_type("json", "application/xml") == "application/json"
    assert listing_type("XML", None) == "application/xml"
    assert listing_type("plain", None) == "text/plain"
    assert listing_type("bogus", None) == "text/plain"


def test_accept_header() -> None:
    assert listing_type(None, None) == "text/plain"
    assert listing_type(None, "application/json") == "application/json"
    assert listing_type(None, "text/xml") == "text/xml"
    assert listing_type(None, "application/*;q=0.5, text/plain;q=0.1") == "application/json"
    assert listing_type(None, "*/*") == "text/plain"
    with pytest.raises(SwiftError) as err:
        listing_type(None, "image/png")
    assert err.value.status == 406


def test_best_match_prefers_specific_ranges() -> None:
    offered = ["text/plain", "application/json"]
    assert best_match("text/*;q=0.2, application/json;q=0.9", offered) == "application/json"
    # swob tries ranges by quality, then specific first, and even q=0 matches
    assert best_match("*/*;q=0.5, text/plain;q=0", offered) == "text/plain"
    assert best_match("application/json;q=0", offered) == "application/json"
    assert best_match("text/plain;q=0.5, application/json;q=0.5", offered) == "text/plain"
    assert best_match("text/*, application/json", offered) == "application/json"


@pytest.mark.parametrize("accept", ["garbage", "text/plain;q=x", "text/plain;q=1;q=1"])
def test_unreadable_accept_is_400(accept: str) -> None:
    with pytest.raises(SwiftError) as err:
        listing_type(None, accept)
    assert (err.value.status, err.value.body) == (400, "Invalid Accept header")
    assert err.value.content_type == "text/html; charset=UTF-8"
    assert listing_type("json", "garbage") == "application/json"  # format= replaces Accept


def test_plain() -> None:
    assert render(OBJS, "text/plain", "c", "container") == "a<&>.txt\ndir/\né\n".encode()
    assert render([], "text/plain", "c", "container") == b""


def test_json_container_rows() -> None:
    rows = json.loads(render(OBJS, "application/json", "c", "container"))
    assert rows[0] == {
        "name": "a<&>.txt",
        "hash": "0" * 32,
        "bytes": 3,
        "content_type": "text/plain",
        "last_modified": "2023-11-14T22:13:20.123450",
    }
    assert rows[1] == {"subdir": "dir/"}
    assert rows[2]["name"] == "é"


def test_json_account_rows() -> None:
    rows = json.loads(render(CONTS, "application/json", "AUTH_p", "account"))
    assert rows[0] == {
        "name": "c1",
        "count": 2,
        "bytes": 10,
        "last_modified": "2023-11-14T22:13:20.123450",
        "storage_policy": "Policy-0",
    }
    assert render([], "application/json", "AUTH_p", "account") == b"[]"


def test_xml_container() -> None:
    body = render(OBJS, "application/xml", "c&d", "container")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c&amp;d">')
    doc = fromstring(body)
    assert doc.tag == "container" and doc.get("name") == "c&d"
    first = doc[0]
    assert first.tag == "object"
    assert [c.tag for c in first] == ["name", "hash", "bytes", "content_type", "last_modified"]
    assert first.find("name").text == "a<&>.txt"
    assert doc[1].tag == "subdir" and doc[1].get("name") == "dir/"
    assert doc[1].find("name").text == "dir/"


def test_xml_account() -> None:
    doc = fromstring(render(CONTS, "application/xml", "AUTH_p", "account"))
    assert doc.tag == "account" and doc.get("name") == "AUTH_p"
    assert [c.tag for c in doc[0]] == [
        "name",
        "count",
        "bytes",
        "last_modified",
        "storage_policy",
    ]
    assert doc[0].find("count").text == "2"
