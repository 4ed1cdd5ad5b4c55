"""Record gauges of the compute-side services (images, servers, networks), read when scraped.

Each service's requests are counted by :mod:`stratus.metrics`; these
gauges count its records by status in one read of the record store, at
scrape time only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from compute_glue.records import RecordStore
from stratus.metrics import count_by


def by_status(
    records: Callable[[], RecordStore], table: str, known: Iterable[str]
) -> Callable[[], dict[tuple[str, ...], int]]:
    """A gauge reader: the records of ``table`` by their ``status`` field.

    ``records`` is called at scrape time (an app is also built without its stores).
    """
    known = tuple(known)
    return lambda: count_by((rec.get("status", "") for _, rec in records().scan(table)), known)


def by_table(
    records: Callable[[], RecordStore], tables: Iterable[str]
) -> Callable[[], dict[tuple[str, ...], int]]:
    """A gauge reader: how many records each of ``tables`` holds (``records`` as above)."""
    tables = tuple(tables)
    return lambda: {(t,): len(records().scan(t)) for t in tables}
