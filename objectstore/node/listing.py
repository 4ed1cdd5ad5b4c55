"""Listings as cursor scans over the sorted rows of one owner (see ``rowkeys``).

One algorithm serves container listings (objects) and account listings
(containers): prefix, marker, end_marker, limit, reverse, delimiter (with
Swift's roll-up of names into ``subdir`` entries) and the old ``path``
query. Names are compared as UTF-8 bytes, which is also Swift's order.
A delimiter roll-up jumps the cursor past the whole common prefix instead
of walking it, so a "directory" of a million names costs one seek.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from objectstore.node.kv import ReadTxn
from objectstore.node.rowkeys import after, scan_rows


@dataclass(slots=True)
class ListQuery:
    prefix: str = ""
    marker: str = ""
    end_marker: str = ""
    limit: int = 10000
    delimiter: str = ""
    reverse: bool = False
    path: str | None = None

    def effective(self) -> ListQuery:
        """``path=p`` is ``prefix=p/`` with ``/`` as delimiter and no subdirs."""
        if self.path is None:
            return self
        prefix = self.path.rstrip("/") + "/" if self.path else ""
        return ListQuery(prefix, self.marker, self.end_marker, self.limit, "/", self.reverse, "")


def list_rows(
    txn: ReadTxn,
    table: str,
    owner: bytes,
    query: ListQuery,
    row: Callable[[str, bytes], Any | None],
) -> list[Any]:
    """Rows of ``owner`` (16-byte hash) matching ``query``.

    ``row(name, value)`` turns a stored row into an output row, or None for
    a deleted one (skipped). Subdirs come out as plain ``str``.
    """
    q = query.effective()
    prefix = q.prefix.encode()
    marker = q.marker.encode()
    end = q.end_marker.encode()
    delim = q.delimiter.encode()
    no_subdirs = q.path is not None
    out: list[Any] = []
    if q.limit <= 0:
        return out
    start: bytes | None
    if q.reverse:
        start = after(prefix) if prefix else None
        if marker:
            start = marker if start is None else min(start, marker)
    else:
        start = prefix
        if marker:
            start = max(start, marker + b"\x00")
    while True:
        restart = None
        for name, value in scan_rows(txn, table, owner, start, q.reverse):
            if not name.startswith(prefix):
                return out
            if end and ((name <= end) if q.reverse else (name >= end)):
                return out
            made = row(name.decode(), value)
            if made is None:  # deleted rows neither list nor make a subdir
                continue
            if delim:
                cut = name.find(delim, len(prefix))
                if cut >= 0:
                    sub = name[: cut + len(delim)]
                    if not no_subdirs and sub != marker:
                        out.append(sub.decode())
                        if len(out) >= q.limit:
                            return out
                    restart = sub if q.reverse else after(sub)
                    break
            out.append(made)
            if len(out) >= q.limit:
                return out
        if restart is None:
            return out
        start = restart
