"""Listing row keys that never exceed LMDB's key limit, in exact name order.

A listing row (an object in a container, a container in an account) is
stored under ``<16-byte owner id><name>``. LMDB refuses keys longer than
511 bytes (``MDB_BAD_VALSIZE``), and object names may be 1,024 bytes, so a
name longer than ``CHUNK`` (495) bytes is stored as a path in a trie of
chunks, every level a plain sorted key range:

- ``owner + name[:495]`` holds ``BRANCH`` (+ the row of the 495-byte name
  itself, if there is one): "longer names start with this chunk";
- those longer names live under the child id ``H(owner, name[:495])`` as
  ``child + name[495:]``, recursively (``H`` is a 16-byte BLAKE2b, so a
  child id is as unguessable and collision-free as an owner hash).

Every key is at most ``16 + 495 = 511`` bytes. A branch's subtree sorts
right after the chunk itself and before the next key of its level, so a
depth-first walk yields the full names in exact byte order, forwards and
backwards, from any start name, with one cursor seek per level: listings
keep marker, end_marker, prefix, delimiter and reverse exact however many
long names share a long prefix.

Compatibility: a name of at most 495 bytes has exactly the key it had
before (names longer than that could never be stored: LMDB refused them),
so existing databases need no migration. Values of plain rows are
unchanged; only a branch value starts with ``BRANCH`` (a byte no record
version uses).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from objectstore.node.kv import MAX_KEY_SIZE, ReadTxn, WriteTxn

MAX_KEY = MAX_KEY_SIZE
ID_LEN = 16
CHUNK = MAX_KEY - ID_LEN
BRANCH = b"\x00"
_PERSON = b"stratus-rowtrie"


def child_id(parent: bytes, chunk: bytes) -> bytes:
    """The id under which the names continuing ``chunk`` (495 bytes) are stored."""
    return hashlib.blake2b(parent + chunk, digest_size=ID_LEN, person=_PERSON).digest()


def after(b: bytes) -> bytes:
    """The smallest byte string greater than every string starting with ``b``."""
    trimmed = b.rstrip(b"\xff")
    if not trimmed:
        return b"\xff" * (len(b) + 1)
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def storage_key(owner: bytes, name: bytes) -> bytes:
    """The key a row of ``name`` is stored under (at most ``MAX_KEY`` bytes)."""
    node = owner
    while len(name) > CHUNK:
        node, name = child_id(node, name[:CHUNK]), name[CHUNK:]
    return node + name


def _own(raw: bytes) -> bytes | None:
    """The row stored at a key: a plain value, or what a branch carries (None: nothing)."""
    if raw[:1] != BRANCH:
        return raw
    return raw[1:] or None


def get_row(txn: ReadTxn, table: str, owner: bytes, name: bytes) -> bytes | None:
    """The stored row of ``name`` under ``owner``, or None."""
    raw = txn.get(table, storage_key(owner, name))
    return _own(bytes(raw)) if raw is not None else None


def put_row(txn: WriteTxn, table: str, owner: bytes, name: bytes, value: bytes) -> None:
    """Store the row of ``name`` (``value`` must not start with ``BRANCH``)."""
    node = owner
    while len(name) > CHUNK:
        head, name = name[:CHUNK], name[CHUNK:]
        key = node + head
        raw = txn.get(table, key)
        if raw is None:
            txn.put(table, key, BRANCH)
        elif raw[:1] != BRANCH:
            txn.put(table, key, BRANCH + bytes(raw))
        node = child_id(node, head)
    key = node + name
    raw = txn.get(table, key)
    txn.put(table, key, BRANCH + value if raw is not None and raw[:1] == BRANCH else value)


def scan_rows(
    txn: ReadTxn, table: str, owner: bytes, start: bytes | None = None, reverse: bool = False
) -> Iterator[tuple[bytes, bytes]]:
    """``(full name, row)`` of ``owner`` in byte order of the names.

    Forward: names >= ``start`` (None: from the first). Reverse: names <
    ``start``, greatest first (None: from the last).
    """
    if reverse:
        return _backward(txn, table, owner, b"", start)
    return _forward(txn, table, owner, b"", start or b"")


def _forward(
    txn: ReadTxn, table: str, node: bytes, base: bytes, start: bytes
) -> Iterator[tuple[bytes, bytes]]:
    head = start[:CHUNK]
    for key, raw in txn.scan(table, node + head):
        if key[:ID_LEN] != node:
            return
        tail = bytes(key[ID_LEN:])
        own = _own(bytes(raw))
        if own is not None and tail >= start:  # tail < start only for head when start is longer
            yield base + tail, own
        if raw[:1] == BRANCH:
            deeper = start[CHUNK:] if tail == head else b""
            yield from _forward(txn, table, child_id(node, tail), base + tail, deeper)


def _backward(
    txn: ReadTxn, table: str, node: bytes, base: bytes, start: bytes | None
) -> Iterator[tuple[bytes, bytes]]:
    if start is None:
        seek = after(node)
    elif len(start) > CHUNK:
        # The chunk ``start`` begins with: its longer names below start, then itself.
        head = start[:CHUNK]
        raw = txn.get(table, node + head)
        if raw is not None:
            if raw[:1] == BRANCH:
                yield from _backward(txn, table, child_id(node, head), base + head, start[CHUNK:])
            own = _own(bytes(raw))
            if own is not None:
                yield base + head, own
        seek = node + head
    else:
        seek = node + start
    for key, raw in txn.scan(table, seek, reverse=True):
        if key[:ID_LEN] != node:
            return
        tail = bytes(key[ID_LEN:])
        if raw[:1] == BRANCH:
            yield from _backward(txn, table, child_id(node, tail), base + tail, None)
        own = _own(bytes(raw))
        if own is not None:
            yield base + tail, own
