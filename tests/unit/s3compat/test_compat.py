"""The published compatibility matrix, the router and the handlers agree."""

from __future__ import annotations

from pathlib import Path

from s3compat import compat, router
from s3compat.handlers import HANDLERS

DOC = Path(__file__).resolve().parents[3] / "docs" / "s3-compat.md"


def test_every_implemented_operation_has_a_handler() -> None:
    for spec in router.all_operations():
        if spec.name == "PreflightCorsRequest":
            continue  # answered before authentication, not through the table
        assert spec.implemented == (spec.name in HANDLERS), spec.name


def test_every_handler_is_a_routed_operation() -> None:
    names = {s.name for s in router.all_operations()}
    assert set(HANDLERS) <= names


def test_published_matrix_is_current() -> None:
    assert DOC.read_text() == compat.render(), "run: python -m s3compat.compat > docs/s3-compat.md"
