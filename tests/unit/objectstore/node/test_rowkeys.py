"""Row keys of long names: every key fits LMDB, scans and listings keep exact byte order."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from objectstore.node import rowkeys
from objectstore.node.kv import MAX_KEY_SIZE, Engine, LmdbEngine, MemoryEngine
from objectstore.node.listing import ListQuery, list_rows
from objectstore.node.records import ObjectRowRecord
from tests.helpers.fuzz import budget

OWNER = bytes(range(16))
OTHER = bytes(range(1, 17))  # a neighbouring owner: its rows must never leak in
TABLE = "crows"
C = rowkeys.CHUNK

# Heads around the chunk boundaries (495, 990 bytes) make names share long prefixes.
_HEADS = ["", "p" * (C - 1), "p" * C, "p" * (C + 1), "p" * 600, "p" * (2 * C), "€" * 165]
_name = st.builds(
    lambda head, tail: (head + tail).encode()[:1024].decode("utf-8", "ignore").encode(),
    st.sampled_from(_HEADS),
    st.text(alphabet="ab/é€", max_size=40),
).filter(bool)
_names = st.sets(_name, min_size=1, max_size=40)


def _engines() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        lm = LmdbEngine(tmp, sync=False, map_size=1 << 28)
        try:
            yield lm
        finally:
            lm.close()
    yield MemoryEngine()


def _row(value: bytes) -> bytes:
    return ObjectRowRecord(1, len(value), "e", value.hex()[:20], False).encode()


def _store(engine: Engine, names: set[bytes], deleted: frozenset[bytes] = frozenset()) -> None:
    def op(txn) -> None:
        for n in names:
            rec = ObjectRowRecord(1, len(n), "e", "t", n in deleted)
            rowkeys.put_row(txn, TABLE, OWNER, n, rec.encode())
            rowkeys.put_row(txn, TABLE, OTHER, n, rec.encode())

    engine.write(op)


def test_a_name_at_the_limit_in_multibyte_utf8_gets_a_key_lmdb_takes() -> None:
    name = ("€" * 341 + "x").encode()
    assert len(name) == 1024
    assert len(rowkeys.storage_key(OWNER, name)) <= MAX_KEY_SIZE
    for engine in _engines():
        engine.write(lambda txn: rowkeys.put_row(txn, TABLE, OWNER, name, _row(name)))
        with engine.read() as txn:
            assert rowkeys.get_row(txn, TABLE, OWNER, name) == _row(name)
            assert [n for n, _ in rowkeys.scan_rows(txn, TABLE, OWNER)] == [name]


def test_a_name_of_495_bytes_keeps_its_key_and_its_row_under_longer_names() -> None:
    """Backward compatible: a name that fits keeps ``owner + name`` as its key."""
    short = b"s" * C
    assert rowkeys.storage_key(OWNER, short) == OWNER + short
    for engine in _engines():
        engine.write(lambda txn: rowkeys.put_row(txn, TABLE, OWNER, short, _row(b"1")))
        with engine.read() as txn:  # what an older version wrote is read back as is
            assert txn.get(TABLE, OWNER + short) == _row(b"1")
        engine.write(lambda txn: rowkeys.put_row(txn, TABLE, OWNER, short + b"x", _row(b"2")))
        engine.write(lambda txn: rowkeys.put_row(txn, TABLE, OWNER, short, _row(b"3")))
        with engine.read() as txn:
            assert rowkeys.get_row(txn, TABLE, OWNER, short) == _row(b"3")
            assert rowkeys.get_row(txn, TABLE, OWNER, short + b"x") == _row(b"2")
            assert rowkeys.get_row(txn, TABLE, OWNER, short + b"y") is None
            got = list(rowkeys.scan_rows(txn, TABLE, OWNER))
        assert got == [(short, _row(b"3")), (short + b"x", _row(b"2"))]


def test_the_memory_engine_refuses_keys_lmdb_refuses() -> None:
    with pytest.raises(Exception, match="MDB_BAD_VALSIZE"):
        MemoryEngine().write(lambda txn: txn.put(TABLE, b"k" * (MAX_KEY_SIZE + 1), b"v"))


@budget(60)
@given(names=_names, start=_name | st.none())
def test_scans_are_in_exact_byte_order_from_any_start(names: set[bytes], start) -> None:
    assert all(len(rowkeys.storage_key(OWNER, n)) <= MAX_KEY_SIZE for n in names)
    ordered = sorted(names)
    for engine in _engines():
        _store(engine, names)
        with engine.read() as txn:
            fwd = [n for n, _ in rowkeys.scan_rows(txn, TABLE, OWNER, start)]
            back = [n for n, _ in rowkeys.scan_rows(txn, TABLE, OWNER, start, reverse=True)]
            assert all(rowkeys.get_row(txn, TABLE, OWNER, n) is not None for n in names)
        if start is None:
            assert fwd == ordered and back == ordered[::-1]
        else:
            assert fwd == [n for n in ordered if n >= start]
            assert back == [n for n in reversed(ordered) if n < start]


def _model(names: list[bytes], q: ListQuery) -> list[str]:
    """Swift's listing by definition: filter, order, roll up, cut at the limit."""
    prefix, marker = q.prefix.encode(), q.marker.encode()
    end, delim = q.end_marker.encode(), q.delimiter.encode()
    out: list[str] = []
    for n in sorted(names, reverse=q.reverse):
        if not n.startswith(prefix):
            continue
        if marker and (n >= marker if q.reverse else n <= marker):
            continue
        if end and (n <= end if q.reverse else n >= end):
            continue
        cut = n.find(delim, len(prefix)) if delim else -1
        item = (n[: cut + len(delim)] if cut >= 0 else n).decode()
        if cut >= 0 and (item.encode() == marker or (out and out[-1] == item)):
            continue
        out.append(item)
    return out[: q.limit]


def _cut(names: list[bytes], data: st.DataObject, label: str) -> str:
    name = data.draw(st.sampled_from(names), label=label)
    at = data.draw(st.integers(0, len(name)), label=label + " length")
    return name[:at].decode("utf-8", "ignore")


@budget(80)
@given(names=_names, data=st.data())
def test_listings_of_long_names_match_the_definition(names: set[bytes], data) -> None:
    ordered = sorted(names)
    deleted = frozenset(data.draw(st.sets(st.sampled_from(ordered), max_size=3), label="deleted"))
    live = [n for n in ordered if n not in deleted]
    q = ListQuery(
        prefix=_cut(ordered, data, "prefix") if data.draw(st.booleans()) else "",
        marker=_cut(ordered, data, "marker") if data.draw(st.booleans()) else "",
        end_marker=_cut(ordered, data, "end") if data.draw(st.booleans()) else "",
        limit=data.draw(st.integers(1, 50), label="limit"),
        delimiter=data.draw(st.sampled_from(["", "/", "€", "b"]), label="delimiter"),
        reverse=data.draw(st.booleans(), label="reverse"),
    )

    def row(name: str, value: bytes) -> str | None:
        return None if ObjectRowRecord.decode(value).deleted else name

    for engine in _engines():
        _store(engine, names, deleted)
        with engine.read() as txn:
            got = list_rows(txn, TABLE, OWNER, q, row)
        assert got == _model(live, q)


def test_marker_paging_walks_many_names_sharing_a_600_byte_prefix_exactly() -> None:
    head = "d" * 300 + "€" * 100  # 600 bytes
    names = sorted(f"{head}{i:05d}{'z' * (i % 7) * 60}".encode() for i in range(300))
    for engine in _engines():
        _store(engine, set(names))
        pages: list[str] = []
        marker = ""
        with engine.read() as txn:
            while True:
                page = list_rows(txn, TABLE, OWNER, ListQuery(marker=marker, limit=37), _name_of)
                if not page:
                    break
                pages += page
                marker = page[-1]
            back = list_rows(txn, TABLE, OWNER, ListQuery(reverse=True), _name_of)
        assert [p.encode() for p in pages] == names
        assert [p.encode() for p in back] == names[::-1]


def _name_of(name: str, value: bytes) -> str:
    return name
