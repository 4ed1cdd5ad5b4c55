"""Byte ranges resolved against an object's size (RFC 7233 semantics).

Protocol-neutral, the one resolution both front-ends use: Swift and S3
parse their ``Range`` headers into :data:`RangeSpec` tuples (each in its
own syntax) and the core, or a front-end that knows the size, resolves them
here; each front-end only words the 416 in its own protocol. The limits
are Swift's answer to RFC 7233 section 6.1 (range requests as a
denial-of-service tool): more than 50 ranges, more than two overlapping
pairs, or eight or more ranges out of order are refused.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

# (first, last), both inclusive; (None, n) is the last n bytes; (n, None) is n to the end.
RangeSpec = tuple[int | None, int | None]

MAX_RANGES = 50
MAX_OVERLAPS = 2
MAX_NONASCENDING = 8


def resolve(specs: Sequence[RangeSpec], size: int) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` ranges within ``size`` bytes; [] when none is satisfiable."""
    out: list[tuple[int, int]] = []
    for first, last in specs:
        if first is None:
            if last and size:  # "-0", or any suffix of nothing, selects nothing
                out.append((max(0, size - last), size))
        elif first < size:
            stop = size if last is None else min(last + 1, size)
            out.append((first, stop))
    if not out or _egregious(out):
        return []
    return out


def _egregious(ranges: list[tuple[int, int]]) -> bool:
    if len(ranges) > MAX_RANGES:
        return True
    overlaps = 0
    for (s1, e1), (s2, e2) in itertools.combinations(ranges, 2):
        # swob's test, strict: equal ranges, or ranges sharing an end, do not overlap
        if s1 < s2 < e1 or s1 < e2 < e1 or s2 < s1 < e2 or s2 < e1 < e2:
            overlaps += 1
            if overlaps > MAX_OVERLAPS:
                return True
    ascending = all(a <= b for a, b in itertools.pairwise(ranges))  # (start, stop) tuples
    return not ascending and len(ranges) >= MAX_NONASCENDING


def content_range(start: int, stop: int, size: int) -> str:
    """The Content-Range value of the half-open range ``[start, stop)``."""
    return f"bytes {start}-{stop - 1}/{size}"


def unsatisfied_range(size: int) -> str:
    """The Content-Range value of a 416: no range fits in ``size`` bytes."""
    return f"bytes */{size}"
