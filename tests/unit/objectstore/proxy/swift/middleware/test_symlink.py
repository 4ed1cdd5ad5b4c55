"""The symlink middleware's pure parts: links in system entries and content types."""

from __future__ import annotations

from objectstore.proxy.swift.middleware.symlink import Link, split_params


def test_link_round_trips_through_system_entries() -> None:
    link = Link("c/o%20x", "AUTH_b", "abc", "5")
    assert Link.from_system({**link.system(), "other": "x"}) == link
    assert Link.from_system({"other": "x"}) is None
    assert link.headers() == {
        "X-Symlink-Target": "c/o%20x",
        "X-Symlink-Target-Account": "AUTH_b",
        "X-Symlink-Target-Etag": "abc",
        "X-Symlink-Target-Bytes": "5",
    }
    assert link.resolve("AUTH_a") == ("AUTH_b", "c", "o x")
    assert Link("c/a/b").resolve("AUTH_a") == ("AUTH_a", "c", "a/b")
    assert link.path("v1", "AUTH_a") == "/v1/AUTH_b/c/o%20x"
    assert Link("c/o").path("v1", "AUTH a") == "/v1/AUTH%20a/c/o"


def test_listing_params_come_back_out_of_the_content_type() -> None:
    link = Link("c/o", None, "abc", "5")
    ctype = "text/plain; charset=utf-8" + link.listing_params()
    assert split_params(ctype) == (
        "text/plain; charset=utf-8",
        {"target": "c/o", "etag": "abc", "bytes": "5"},
    )
    assert split_params("text/plain;swift_bytes=3") == ("text/plain;swift_bytes=3", {})
