"""Resolving byte ranges against a size (RFC 7233 semantics, Swift's limits)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from objectstore.proxy.ranges import MAX_RANGES, content_range, resolve, unsatisfied_range


def test_plain_ranges() -> None:
    assert resolve([(0, 9)], 100) == [(0, 10)]
    assert resolve([(90, None)], 100) == [(90, 100)]
    assert resolve([(None, 5)], 100) == [(95, 100)]


def test_clipping_and_dropping() -> None:
    assert resolve([(50, 500)], 100) == [(50, 100)]
    assert resolve([(None, 500)], 100) == [(0, 100)]
    assert resolve([(100, None), (0, 0)], 100) == [(0, 1)]
    assert resolve([(None, 0)], 100) == []


def test_unsatisfiable() -> None:
    assert resolve([(100, 200)], 100) == []
    assert resolve([(0, None)], 0) == []
    assert resolve([(None, 5)], 0) == []


def test_egregious_requests_are_refused() -> None:
    many = [(i * 2, i * 2) for i in range(MAX_RANGES + 1)]
    assert resolve(many, 1000) == []
    assert len(resolve(many[:MAX_RANGES], 1000)) == MAX_RANGES
    overlapping = [(0, 50), (10, 60), (20, 70)]
    assert resolve(overlapping, 100) == []
    assert resolve(overlapping[:2], 100) == [(0, 51), (10, 61)]
    backwards = [(i, i) for i in range(8, 0, -1)]
    assert resolve(backwards, 100) == []
    assert len(resolve(backwards[:7], 100)) == 7


def test_swobs_exact_rules() -> None:
    """swob counts overlaps with strict inequalities and orders (start, stop) pairs."""
    assert resolve([(0, 5)] * 4, 20) == [(0, 6)] * 4  # equal ranges never overlap
    assert resolve([(0, 4), (5, 9), (0, 4), (5, 9)], 20) == [(0, 5), (5, 10)] * 2
    assert len(resolve([(0, 0)] * MAX_RANGES, 20)) == MAX_RANGES
    assert resolve([(0, 0)] * (MAX_RANGES + 1), 20) == []
    # the same start, a shorter range second: out of order, so 8 such ranges are refused
    tail = [(20 + 2 * i, 20 + 2 * i) for i in range(6)]
    assert resolve([(0, 9), (0, 4), *tail], 100) == []
    assert len(resolve([(0, 9), (0, 4), *tail[:5]], 100)) == 7


@given(
    st.integers(0, 10_000),
    st.lists(
        st.tuples(st.none() | st.integers(0, 20_000), st.none() | st.integers(0, 20_000)),
        min_size=1,
        max_size=4,
    ),
)
def test_resolved_ranges_lie_inside_the_object(size: int, specs: list) -> None:
    specs = [(a, b) for a, b in specs if not (a is None and b is None)]
    specs = [(a, b) if a is None or b is None or b >= a else (b, a) for a, b in specs]
    for start, stop in resolve(specs, size):
        assert 0 <= start < stop <= size


def test_content_range_values() -> None:
    assert content_range(90, 100, 100) == "bytes 90-99/100"
    assert unsatisfied_range(100) == "bytes */100"
