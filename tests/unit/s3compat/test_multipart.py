from __future__ import annotations

import pytest

from s3compat import multipart
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
