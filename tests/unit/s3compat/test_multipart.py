from __future__ import annotations

import pytest

from s3compat import multipart, upload_keys
from s3compat.errors import S3Error


@pytest.mark.parametrize("key", ["k", "dir/file.bin", "odd\x01key"])
def test_record_names_round_trip(key: str) -> None:
    uid = multipart.new_upload_id()
    multipart.check_upload_id(uid)
    assert multipart.parse_record(multipart.record_name(key, uid)) == (key, uid)


def test_upload_ids_sort_by_start_time() -> None:
    ids = [multipart.new_upload_id() for _ in range(20)]
    assert [i[:14] for i in ids] == sorted(i[:14] for i in ids)


@pytest.mark.parametrize("value", [None, "0", "10001", "x", "-1"])
def test_bad_part_numbers(value: str | None) -> None:
    with pytest.raises(S3Error):
        multipart.part_number(value)


def test_part_names_sort_by_number() -> None:
    names = [multipart.part_name("u" * 32, n) for n in (10, 2, 10000, 1)]
    assert [int(n.rsplit("/", 1)[1]) for n in sorted(names)] == [1, 2, 10, 10000]


def test_unknown_upload_ids_are_no_such_upload() -> None:
    with pytest.raises(S3Error) as exc:
        multipart.check_upload_id("../etc")
    assert exc.value.code == "NoSuchUpload"


@pytest.mark.parametrize("key", ["k" * 988, "\x01" * 494, "€" * 329 + "a"])
def test_keys_that_fit_keep_their_old_record_names(key: str) -> None:
    uid = multipart.new_upload_id()
    old = "u/" + key.replace("\x01", "\x01\x02") + "\x01\x01" + uid
    assert multipart.record_name(key, uid) == old
    assert len(old.encode()) <= 1024


@pytest.mark.parametrize("key", ["k" * 989, "k" * 1024, "€" * 341 + "x", "\x01" * 1024])
def test_long_keys_get_short_digest_record_names(key: str) -> None:
    uid = multipart.new_upload_id()
    name = multipart.record_name(key, uid)
    assert name.startswith(upload_keys.LONG_TAG) and len(name.encode()) == 102
    assert name < upload_keys.LONG_END < multipart.record_name("\x01", uid)
    assert name.startswith(multipart.record_prefix(key))
    assert name != multipart.record_name(key + "x", uid)


def test_part_names_stay_short() -> None:
    assert len(multipart.part_name("f" * 32, multipart.MAX_PARTS).encode()) == 40
