"""Swift headers to neutral metadata and back."""

from __future__ import annotations

import pytest

from objectstore.proxy.swift import headers as h
from objectstore.proxy.swift.errors import SwiftError


def test_user_metadata() -> None:
    hdrs = {
        "X-Object-Meta-Color": " blue ",
        "X-Object-Meta-Empty": "",
        "X-Remove-Object-Meta-Old": "x",
        "Content-Type": "t",
    }
    assert h.user_metadata(hdrs, "object", removals=False) == {"color": "blue", "empty": ""}
    assert h.user_metadata(hdrs, "object", removals=True) == {
        "color": "blue",
        "empty": "",
        "old": "",
    }
    assert h.meta_headers({"color-code": "1"}, "container") == {"X-Container-Meta-Color-Code": "1"}


def test_content_attributes() -> None:
    hdrs = {"content-encoding": "gzip", "Content-Disposition": "inline", "X-Other": "1"}
    got = h.content_attributes({k.lower(): v for k, v in hdrs.items()})
    assert got == {"content-encoding": "gzip", "content-disposition": "inline"}
    assert h.attribute_headers(got) == {"Content-Encoding": "gzip", "Content-Disposition": "inline"}


def test_acl_entries() -> None:
    from multidict import CIMultiDict

    hdrs = CIMultiDict({"X-Container-Read": ".r:*, .rlistings", "X-Remove-Container-Write": "1"})
    assert h.acl_entries(hdrs) == {"read-acl": ".r:*,.rlistings", "write-acl": ""}
    with pytest.raises(SwiftError) as err:
        h.acl_entries(CIMultiDict({"X-Container-Write": ".r:*"}))
    assert err.value.status == 400
    assert h.acl_headers({"read-acl": "a:b", "write-acl": ""}) == {"X-Container-Read": "a:b"}


def test_delete_at() -> None:
    assert h.delete_at({}, now=100.0) is None
    assert h.delete_at({"X-Delete-After": "10"}, now=100.0) == 110
    assert h.delete_at({"X-Delete-At": "200"}, now=100.0) == 200
    # far future: clamped to 9999999999 as Swift's normalize_delete_at_timestamp does
    assert h.delete_at({"X-Delete-After": "9" * 400}, now=100.0) == 9999999999
    assert h.delete_at({"X-Delete-At": "99999999999"}, now=100.0) == 9999999999
    for hdrs, msg in (
        ({"X-Delete-After": "x"}, "Non-integer X-Delete-After"),
        ({"X-Delete-After": "1.5"}, "Non-integer X-Delete-After"),
        ({"X-Delete-After": "-1"}, "X-Delete-After in past"),
        ({"X-Delete-After": "0"}, "X-Delete-After in past"),
        ({"X-Delete-After": "-" + "9" * 400}, "X-Delete-After in past"),
        ({"X-Delete-At": "100"}, "X-Delete-At in past"),
        ({"X-Delete-At": "-5"}, "X-Delete-At in past"),
        ({"X-Delete-At": "150.5"}, "Non-integer X-Delete-At"),
        ({"X-Delete-At": "x"}, "Non-integer X-Delete-At"),
        ({"X-Delete-At": "50"}, "X-Delete-At in past"),
    ):
        with pytest.raises(SwiftError) as err:
            h.delete_at(hdrs, now=100.0)
        assert (err.value.status, err.value.body) == (400, msg)


def test_truthy() -> None:
    assert all(h.truthy(v) for v in ("true", "1", "YES", "on", "t", "y"))
    assert not any(h.truthy(v) for v in (None, "", "false", "0", "no"))
