from __future__ import annotations

import pytest
import xxhash

from ring import hash_path, part_of


def test_digest_is_xxh3_128_of_salted_path() -> None:
    want = xxhash.xxh3_128_digest(b"pre/AUTH_a/c/o\xc3\xa9suf")
    assert hash_path("AUTH_a", "c", "o\u00e9", prefix="pre", suffix="suf") == want
    assert len(want) == 16


def test_levels_and_salts_change_the_digest() -> None:
    seen = {
        hash_path("a"),
        hash_path("a", "c"),
        hash_path("a", "c", "o"),
        hash_path("a", "c", "o", prefix="x"),
        hash_path("a", "c", "o", suffix="x"),
    }
    assert len(seen) == 5


def test_object_needs_container() -> None:
    with pytest.raises(ValueError):
        hash_path("a", None, "o")
    with pytest.raises(ValueError):
        hash_path("")


def test_part_of_takes_the_top_bits() -> None:
    digest = bytes([0b1011_0000]) + bytes(15)
    assert part_of(digest, 0) == 0
    assert part_of(digest, 1) == 1
    assert part_of(digest, 4) == 0b1011
    assert part_of(b"\xff" * 16, 20) == (1 << 20) - 1
