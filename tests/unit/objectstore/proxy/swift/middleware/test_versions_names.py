"""The hidden container's names: Swift's order (object name, then newest first), parsed back."""

from __future__ import annotations

from objectstore.proxy.swift.middleware import versions_names as vn
from objectstore.timestamp import Timestamp

NAMES = ["", "a", "a\x01", "a\x01b", "a\x010", "a0", "a/b", "ab", "\x01", "\x01\x01", "é", "z"]
TIMES = [
    Timestamp("1796669413.40256"),
    Timestamp("1796669413.50836"),
    Timestamp("0000000001.00000"),
]


def test_entries_sort_by_name_then_newest_first() -> None:
    entries = [(n, t) for n in NAMES if n for t in TIMES]
    by_entry = sorted(entries, key=lambda e: vn.entry_name(*e))
    assert by_entry == sorted(entries, key=lambda e: (e[0], -e[1].seconds))


def test_entries_parse_back() -> None:
    for name in NAMES[1:]:
        for ts in TIMES:
            assert vn.parse_entry(vn.entry_name(name, ts)) == (name, ts.normal)
            assert vn.entry_name(name, ts).startswith(vn.entry_prefix(name))
    assert vn.parse_entry("plain-object") is None
    assert vn.parse_entry("a\x01\x01not-a-time!!") is None


def test_one_objects_entries_never_share_a_prefix_with_anothers() -> None:
    for a in NAMES[1:]:
        for b in NAMES[1:]:
            if a != b:
                assert not vn.entry_name(b, TIMES[0]).startswith(vn.entry_prefix(a))


def test_hidden_container_names() -> None:
    hidden = vn.versions_container("photos")
    assert hidden == "\x01versions\x01photos"
    assert vn.parent_container(hidden) == "photos"
    assert vn.parent_container("photos") is None


def test_version_ids_as_swift_reads_them() -> None:
    assert vn.parse_version("1796669413.40256") == Timestamp("1796669413.40256")
    assert vn.parse_version("1e9") == Timestamp(1e9)
    for bad in ("bogus", "", "nan", "inf", "-1"):
        assert vn.parse_version(bad) is None, bad
