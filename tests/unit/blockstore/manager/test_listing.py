"""Sorting, filters and marker pagination."""

from __future__ import annotations

import pytest

from blockstore.manager.errors import BadRequest
from blockstore.manager.listing import matches, paginate, parse_sort
from blockstore.manager.records import Volume


def vols() -> list[Volume]:
    return [Volume(id=f"v{i}", name=f"n{i % 2}", created_at=float(i), size=i) for i in range(5)]


def test_default_is_newest_first_and_markers_continue() -> None:
    page, more = paginate(vols(), marker=None, limit=2, sort=parse_sort(None))
    assert [v.id for v in page] == ["v4", "v3"] and more
    page, more = paginate(vols(), marker="v3", limit=10, sort=parse_sort(None))
    assert [v.id for v in page] == ["v2", "v1", "v0"] and not more


def test_sort_parameters() -> None:
    page, _ = paginate(vols(), marker=None, limit=None, sort=parse_sort("size:asc"))
    assert [v.size for v in page] == [0, 1, 2, 3, 4]
    page, _ = paginate(vols(), marker=None, limit=None, sort=parse_sort(None, "name", "asc"))
    assert [v.name for v in page] == ["n0", "n0", "n0", "n1", "n1"]


@pytest.mark.parametrize("sort", ["bogus:asc", "size:sideways"])
def test_bad_sorts_are_refused(sort: str) -> None:
    with pytest.raises(BadRequest):
        parse_sort(sort)


def test_unknown_marker_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="Marker"):
        paginate(vols(), marker="nope", limit=1, sort=parse_sort(None))


def test_filters() -> None:
    v = Volume(name="a", status="available", metadata={"k": "v"})
    assert matches(v, {"status": "AVAILABLE", "metadata": {"k": "v"}})
    assert not matches(v, {"metadata": {"k": "other"}})
