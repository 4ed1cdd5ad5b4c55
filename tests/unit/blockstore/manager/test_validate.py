"""Caller-supplied values: sizes, names, metadata, booleans."""

from __future__ import annotations

import pytest

from blockstore.manager import validate
from blockstore.manager.errors import BadRequest


@pytest.mark.parametrize("value,want", [(1, 1), ("2", 2), (3.0, 3)])
def test_sizes(value, want) -> None:  # type: ignore[no-untyped-def]
    assert validate.size_gb(value, maximum=10) == want


@pytest.mark.parametrize("value", [0, -1, "-3", "1.5", 1.5, True, None, "x", 11, [1]])
def test_bad_sizes(value) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequest):
        validate.size_gb(value, maximum=10)


def test_text_and_metadata_limits() -> None:
    assert validate.text(None, "name") == ""
    with pytest.raises(BadRequest):
        validate.text("x" * 256, "name")
    with pytest.raises(BadRequest):
        validate.text("a\x00b", "name")
    with pytest.raises(BadRequest):
        validate.metadata({"k": 1})
    with pytest.raises(BadRequest):
        validate.metadata(["k"])
    assert validate.metadata({"k": "v"}) == {"k": "v"}


def test_booleans_and_limits() -> None:
    assert validate.boolean("True", "f") is True and validate.boolean("no", "f") is False
    with pytest.raises(BadRequest):
        validate.boolean("maybe", "f")
    assert validate.limit("5000") == validate.MAX_LIMIT
    with pytest.raises(BadRequest):
        validate.limit("-1")
