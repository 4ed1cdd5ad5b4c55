"""Filters, sorting and marker pagination shared by every list operation (Cinder's rules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from blockstore.manager.errors import BadRequest
from blockstore.manager.records import Record

R = TypeVar("R", bound=Record)
SORT_KEYS = ("created_at", "updated_at", "id", "name", "size", "status")


def parse_sort(
    sort: str | None, sort_key: str | None = None, sort_dir: str | None = None
) -> list[tuple[str, bool]]:
    """[(key, descending)] from ``sort=k1:asc,k2`` or ``sort_key``/``sort_dir``."""
    pairs: list[tuple[str, bool]] = []
    if sort:
        for part in sort.split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key, (direction or "desc") == "desc"))
            if direction not in ("", "asc", "desc"):
                raise BadRequest(f"Invalid input received: sort direction {direction[:20]!r}.")
    elif sort_key:
        if sort_dir not in (None, "asc", "desc"):
            raise BadRequest(f"Invalid input received: sort_dir {sort_dir[:20]!r}.")
        pairs.append((sort_key, sort_dir != "asc"))
    for key, _ in pairs:
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid input received: cannot sort by {key[:40]!r}.")
    if not pairs:
        pairs = [("created_at", True)]
    if all(key != "id" for key, _ in pairs):
        pairs.append(("id", pairs[-1][1]))
    return pairs


def paginate(
    items: Sequence[R], *, marker: str | None, limit: int | None, sort: list[tuple[str, bool]]
) -> tuple[list[R], bool]:
    """Sorted items after ``marker``, at most ``limit``; and whether more follow."""
    ordered = list(items)
    for key, desc in reversed(sort):
        ordered.sort(key=lambda r, k=key: _sort_value(getattr(r, k, None)), reverse=desc)
    if marker is not None:
        at = next((i for i, r in enumerate(ordered) if r.id == marker), None)
        if at is None:
            raise BadRequest(f"Marker {marker[:80]} could not be found.")
        ordered = ordered[at + 1 :]
    if limit is None or len(ordered) <= limit:
        return ordered, False
    return ordered[:limit], True


def _sort_value(value: Any) -> Any:
    if value is None:
        return (0, "")
    return (1, value)


def matches(record: Record, filters: dict[str, Any]) -> bool:
    for key, wanted in filters.items():
        if key == "metadata":
            meta = getattr(record, "metadata", {})
            if any(meta.get(k) != v for k, v in wanted.items()):
                return False
        elif str(getattr(record, key, None)).lower() != str(wanted).lower():
            return False
    return True
