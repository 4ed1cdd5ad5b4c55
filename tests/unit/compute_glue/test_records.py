"""Versioned record values and the LMDB tables behind them."""

from __future__ import annotations

import msgpack
import pytest

from compute_glue.records import RecordError, RecordStore, decode, encode


def test_values_carry_a_version_byte_and_refuse_unknown_ones() -> None:
    raw = encode({"a": 1, "b": [1, 2], "c": b"\x00"})
    assert raw[0] == 1
    assert decode(raw, "x") == {"a": 1, "b": [1, 2], "c": b"\x00"}
    with pytest.raises(RecordError, match="version 2"):
        decode(b"\x02" + raw[1:], "x")
    with pytest.raises(RecordError, match="not a map"):
        decode(b"\x01" + msgpack.packb([1]), "x")
    with pytest.raises(RecordError):
        decode(b"", "x")
    with pytest.raises(RecordError, match="corrupt"):
        decode(b"\x01\xc1", "x")


def test_tables_scan_by_prefix_and_survive_reopen(tmp_path) -> None:
    store = RecordStore(tmp_path / "r", ["t", "u"])
    store.put("t", "a/1", {"n": 1})
    store.put("t", "a/2", {"n": 2})
    store.put("t", "b/1", {"n": 3})
    store.put("u", "a/1", {"n": 4})
    assert [k for k, _ in store.scan("t", "a/")] == ["a/1", "a/2"]
    with pytest.raises(ValueError), store.write() as t:  # an error aborts the whole transaction
        t.put("t", "c", {"n": 5})
        raise ValueError
    assert store.get("t", "c") is None
    assert store.delete("t", "a/1") and not store.delete("t", "a/1")
    store.close()
    with pytest.raises(RecordError, match="closed"):
        store.get("t", "a/2")
    again = RecordStore(tmp_path / "r", ["t", "u"])
    assert again.get("t", "a/2") == {"n": 2} and again.get("u", "a/1") == {"n": 4}
    again.close()
