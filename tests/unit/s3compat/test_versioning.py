from __future__ import annotations

import pytest

from s3compat import versioning
from s3compat.errors import S3Error


def test_version_ids_sort_by_time_and_are_valid() -> None:
    ids = [versioning.new_version_id() for _ in range(50)]
    for vid in ids:
        versioning.check_version_id(vid)
    assert [v[:14] for v in sorted(ids)] == sorted(v[:14] for v in ids)
    assert ids[-1][:14] >= ids[0][:14]


@pytest.mark.parametrize("bad", ["", "abc", "g" * 20, "0" * 20, "A" * 20])
def test_bad_version_ids(bad: str) -> None:
    with pytest.raises(S3Error):
        versioning.check_version_id(bad)


@pytest.mark.parametrize("key", ["k", "a/b c", "x\x01y", "\x01", "ключ", "a\x01\x02b"])
def test_entry_names_round_trip(key: str) -> None:
    vid = versioning.new_version_id()
    assert versioning.parse_entry(versioning.entry_name(key, vid))[:2] == (key, vid)
    null = versioning.entry_name(key, versioning.NULL, 123456)
    assert versioning.parse_entry(null) == (key, versioning.NULL, 123456)
    assert versioning.entry_name(key, vid).startswith(versioning.key_prefix(key))


def test_entries_list_newest_first_and_keys_stay_apart() -> None:
    older, newer = "0000000000000a000001", "0000000000000b000001"
    names = [versioning.entry_name("k", v) for v in (older, newer)]
    ordered = sorted(names, key=lambda n: n.encode())
    assert [versioning.parse_entry(n)[1] for n in ordered] == [newer, older]
    keys = ["a", "a\x01", "a\x01b", "a\x02", "ab"]
    named = sorted((versioning.entry_name(k, older) for k in keys), key=lambda n: n.encode())
    assert [versioning.parse_entry(n)[0] for n in named] == sorted(keys, key=str.encode)
    for k in keys:
        others = [n for n in named if versioning.parse_entry(n)[0] != k]
        assert not any(n.startswith(versioning.key_prefix(k)) for n in others)


def test_plain_entry_names_are_unchanged() -> None:
    """Archives written before long keys had their own names stay readable."""
    assert versioning.entry_name("photos/cat.jpg", "0000000000000a000001") == (
        "photos/cat.jpg\x01\x01fffffffffffff5fffffe"
    )
    null = versioning.entry_name("a\x01b", versioning.NULL, 0x10)
    assert null == "a\x01\x02b\x01\x01ffffffffffffefffffff"


@pytest.mark.parametrize(
    "key", ["k" * 1003, "k" * 1000 + "/" + "v" * 23, "€" * 341 + "x", "\x01" * 1024, "\x01" * 502]
)
def test_long_keys_get_fixed_length_names(key: str) -> None:
    assert versioning.is_long(key)
    vid = versioning.new_version_id()
    name = versioning.entry_name(key, vid)
    assert len(name.encode()) <= 1024
    assert versioning.is_long_entry(name) and name < versioning.LONG_END
    assert name.startswith(versioning.entry_prefix(key))
    assert versioning.entry_version(name) == (vid, int(vid[:14], 16))
    null = versioning.entry_name(key, versioning.NULL, 123456)
    assert versioning.entry_version(null) == (versioning.NULL, 123456)
    assert not null.startswith(versioning.entry_prefix(key + "x"))


def test_the_longest_plain_name_fills_the_limit() -> None:
    vid = versioning.new_version_id()
    assert not versioning.is_long("k" * 1002)
    assert len(versioning.entry_name("k" * 1002, vid).encode()) == 1024
    assert versioning.is_long("k" * 1003) and versioning.is_long("\x01" * 502)
    assert not versioning.is_long("\x01" * 501)
    plain = min(versioning.entry_name(k, vid) for k in ("\x01", "\x02", " ", "k" * 1002))
    assert plain > versioning.LONG_END  # long names form one block before every plain one
