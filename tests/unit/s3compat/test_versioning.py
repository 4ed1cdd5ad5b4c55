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
