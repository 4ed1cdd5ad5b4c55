"""Swift's name, path, query and metadata checks, with Swift's messages."""

from __future__ import annotations

import pytest

from objectstore.proxy.swift import constraints as c
from objectstore.proxy.swift.errors import HTML, SwiftError


def _err(fn, *args) -> SwiftError:
    with pytest.raises(SwiftError) as info:
        fn(*args)
    return info.value


def test_split_path() -> None:
    assert c.split_path("/v1/AUTH_a") == ("v1", "AUTH_a", None, None)
    assert c.split_path("/v1/AUTH_a/") == ("v1", "AUTH_a", None, None)
    assert c.split_path("/v1/AUTH_a/c") == ("v1", "AUTH_a", "c", None)
    assert c.split_path("/v1/AUTH_a/c/") == ("v1", "AUTH_a", "c", None)
    assert c.split_path("/v1/AUTH_a/c/a/b/") == ("v1", "AUTH_a", "c", "a/b/")
    assert c.split_path("/v1.0/AUTH_a/c/%E2%98%83%2Fx") == ("v1.0", "AUTH_a", "c", "☃/x")


def test_split_path_errors() -> None:
    assert _err(c.split_path, "/v1/AUTH_a/c/%FF").status == 412
    err = _err(c.split_path, "/v1/AUTH_a/c/a%00b")
    assert (err.status, err.body) == (412, "Invalid UTF8 or contains NULL")
    assert _err(c.split_path, "/v2/AUTH_a").status == 400
    for bad_url in ("/v1", "/v1/", "/anything"):  # Swift's proxy: no controller
        err = _err(c.split_path, bad_url)
        assert (err.status, err.body, err.content_type) == (412, "Bad URL", HTML)
    assert _err(c.split_path, "/v1/AUTH_a//o").status == 404
    assert _err(c.split_path, "/v1//c").status == 404
    assert _err(c.split_path, "/").status == 404


def test_query() -> None:
    assert c.parse_query("format=json&prefix=a%2Fb&marker=") == {
        "format": "json",
        "prefix": "a/b",
        "marker": "",
    }
    assert c.parse_query("format=json&format=xml") == {"format": "xml"}  # swob: the last
    assert c.parse_query("other=%FF")["other"] == "\udcff"  # Swift never reads it
    err = _err(c.parse_query, "prefix=%FF")
    assert (err.status, err.body) == (400, '"prefix" parameter not valid UTF-8')


def test_name_lengths() -> None:
    c.check_object_name("o" * 1024)
    err = _err(c.check_object_name, "o" * 1025)
    assert (err.status, err.body) == (400, "Object name length of 1025 longer than 1024")
    assert _err(c.check_object_name, "é" * 513).status == 400  # 1026 bytes
    c.check_container_name("c" * 256)
    err = _err(c.check_container_name, "c" * 257)
    assert err.body == "Container name length of 257 longer than 256"
    assert _err(c.check_account_name, "a" * 257).status == 400


def test_metadata_ok() -> None:
    c.check_metadata({"X-Object-Meta-Color": "blue", "Other": "x" * 5000}, "object")
    c.check_metadata({f"X-Object-Meta-K{i}": "v" for i in range(90)}, "object")


@pytest.mark.parametrize(
    "headers,message",
    [
        ({"X-Object-Meta-": "v"}, "Metadata name cannot be empty"),
        (
            {"X-Object-Meta-" + "k" * 129: "v"},
            "Metadata name too long: x-object-meta-K" + "k" * 128,
        ),
        ({"X-Object-Meta-K": "v" * 257}, "Metadata value longer than 256: x-object-meta-K"),
        ({f"X-Object-Meta-K{i}": "v" for i in range(91)}, "Too many metadata items; max 90"),
        (
            {f"X-Object-Meta-K{i}": "v" * 250 for i in range(17)},
            "Total metadata too large; max 4096",
        ),
        ({"X-Foo": "v" * 8193}, "Header value too long: X-Foo"),
    ],
)
def test_metadata_errors(headers: dict[str, str], message: str) -> None:
    err = _err(c.check_metadata, headers, "object")
    assert (err.status, err.body) == (400, message)


def test_invalid_utf8_metadata() -> None:
    """Swift stores an object's non-UTF-8 metadata as sent; accounts and containers refuse it."""
    c.check_metadata({"X-Object-Meta-K": "a\udcffb", "X-Object-Meta-\udcff": "v"}, "object")
    for target in ("container", "account"):
        for headers in ({f"X-{target}-Meta-K": "\udcff"}, {f"X-{target}-Meta-\udcff": "v"}):
            err = _err(c.check_metadata, headers, target)
            assert (err.status, err.body) == (400, "Metadata must be valid UTF-8")


def test_container_metadata_prefix() -> None:
    c.check_metadata({"X-Object-Meta-" + "k" * 200: "v"}, "container")
    assert _err(c.check_metadata, {"X-Container-Meta-": "v"}, "container").status == 400


def test_listing_limit() -> None:
    assert c.listing_limit({}, 10000) == 10000
    assert c.listing_limit({"limit": "5"}, 10000) == 5
    assert c.listing_limit({"limit": "-5"}, 10000) == 10000
    err = _err(c.listing_limit, {"limit": "10001"}, 10000)
    assert (err.status, err.body) == (412, "Maximum limit is 10000")
