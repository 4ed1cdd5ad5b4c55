"""Fuzz: Swift ACL strings, metadata headers, X-Delete-*, Range and listing limits.

Every parser of a request header either returns a value or raises
``SwiftError`` with a 4xx status (Swift's 400/412 answers); any other
exception would be a 500. ACLs also keep their meaning when cleaned twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from objectstore.proxy.acl import Acl
from objectstore.proxy.swift import constraints, headers, ranges
from objectstore.proxy.swift.acl import clean_acl
from objectstore.proxy.swift.errors import SwiftError
from tests.helpers.fuzz import budget

NUMBERS = ["0", "1", "-1", "1_0", " 5 ", "²", "١٢", "𝟗", "9" * 400, "9" * 4301, "1e3", ""]
ACL_ITEMS = [".r:*", ".r:-*", ".r:.example.com", ".r:*.example.com", ".referrer:x", ".rlistings",
             ".r:", ".r:-", ".r:.", ".bogus:x", "alpha:bob", "*:*", "AUTH_alpha", "alpha:*",
             ":", "::", " , ", "."]  # fmt: skip
# Header values as aiohttp hands them over: undecodable bytes become lone surrogates.
TEXT = st.lists(st.characters(codec="utf-8") | st.sampled_from("\udcff\udc80"), max_size=30).map(
    "".join
)


def swift_error_or_ok(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except SwiftError as err:
        assert 400 <= err.status < 500, (err.status, err)
        return None


@st.composite
def acl_values(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.sampled_from(ACL_ITEMS) | TEXT, max_size=8))
    return draw(st.sampled_from([",", ", ", " ,"])).join(items)


class Who:
    project, user, account = "alpha", "bob", "AUTH_alpha"


@budget(100)
@given(read=acl_values(), write=acl_values(), remove=st.booleans())
def test_fuzz_container_acls(read: str, write: str, remove: bool) -> None:
    sent = {"x-container-read": read, "x-container-write": write}
    if remove:
        sent["x-remove-container-read"] = "1"
    entries = swift_error_or_ok(lambda: headers.acl_entries(sent))
    if entries is None:
        return
    for header, key in headers.ACL_HEADERS:
        cleaned = entries[key]
        assert clean_acl(header, cleaned) == cleaned  # cleaning is idempotent
        acl = Acl.parse(cleaned)
        acl.referrer_allowed("http://www.example.com/x")
        acl.grants(Who())
        if "write" in header:
            assert not acl.referrers


@budget(80)
@given(
    sent=st.dictionaries(
        st.sampled_from(
            [
                "X-Object-Meta-",
                "x-object-meta-a",
                "X-Object-Meta-" + "n" * 129,
                "X-Remove-Object-Meta-b",
                "Content-Type",
            ]
        )
        | TEXT,
        st.sampled_from(["", "v", "v" * 257, "v" * 8193]) | TEXT,
        max_size=12,
    )
)
def test_fuzz_metadata_headers(sent: dict[str, str]) -> None:
    if swift_error_or_ok(lambda: constraints.check_metadata(sent, "object")) is None:
        pass
    meta = headers.user_metadata(sent, "object", removals=True)
    headers.meta_headers(meta, "object")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())


@budget(200)
@given(
    after=st.none() | st.sampled_from(NUMBERS) | TEXT,
    at=st.none() | st.sampled_from(NUMBERS) | TEXT,
)
def test_fuzz_delete_at(after: str | None, at: str | None) -> None:
    sent = {k: v for k, v in (("X-Delete-After", after), ("X-Delete-At", at)) if v is not None}
    when = swift_error_or_ok(lambda: headers.delete_at(sent, now=1_800_000_000.0))
    assert when is None or 1_800_000_000 <= when < 10**20


@budget(200)
@given(
    value=st.builds(
        lambda a, b, more: f"bytes={a}-{b}{more}",
        st.sampled_from(NUMBERS) | TEXT,
        st.sampled_from(NUMBERS) | TEXT,
        st.sampled_from(["", ",0-1", ",-5", ",,"]),
    )
    | TEXT,
    limit=st.sampled_from(NUMBERS) | TEXT,
)
def test_fuzz_range_and_limit(value: str, limit: str) -> None:
    specs = ranges.parse_range(value)
    for start, end in specs or []:
        assert (start is None or start >= 0) and (end is None or end >= (start or 0))
    n = swift_error_or_ok(lambda: constraints.listing_limit({"limit": limit}, 10000))
    assert n is None or 0 <= n <= 10000
