"""key=value text: parsing is strict and bounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blockstore.iscsi.textkeys import MAX_TEXT, TextError, encode_text, parse_text


def test_round_trip_keeps_order_and_repeats() -> None:
    pairs = [("TargetName", "iqn.x:y"), ("TargetAddress", "1.2.3.4:3260,1"),
             ("TargetAddress", "[::1]:3260,1"), ("Empty", "")]  # fmt: skip
    assert parse_text(encode_text(pairs)) == pairs


def test_missing_final_nul_and_padding_nuls_are_tolerated() -> None:
    assert parse_text(b"A=1\0B=2") == [("A", "1"), ("B", "2")]
    assert parse_text(b"A=1\0\0\0\0") == [("A", "1")]


@pytest.mark.parametrize(
    "raw",
    [b"NoEquals\0", b"=value\0", b"bad key=1\0", b"K" * 64 + b"=1\0", b"K=\xff\xfe\0",
     b"K=" + b"v" * 8193 + b"\0", b"K=1\0" * 257, b"K=" + b"v" * MAX_TEXT],
)  # fmt: skip
def test_malformed_text_is_an_error(raw: bytes) -> None:
    with pytest.raises(TextError):
        parse_text(raw)


@given(st.binary(max_size=600))
def test_arbitrary_bytes_parse_or_raise_text_error(raw: bytes) -> None:
    try:
        pairs = parse_text(raw)
    except TextError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)


@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9.]{0,20}", fullmatch=True),
                          st.text(alphabet=st.characters(blacklist_characters="\0",
                                                         blacklist_categories=("Cs",)),
                                  max_size=40)), max_size=20))  # fmt: skip
def test_encoded_pairs_parse_back(pairs: list[tuple[str, str]]) -> None:
    assert parse_text(encode_text(pairs)) == pairs
