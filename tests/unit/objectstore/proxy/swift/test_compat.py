"""docs/swift-compat.md is the table the code gives, and the table follows the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from objectstore.proxy.swift import compat, middleware, pipeline

DOC = Path(__file__).resolve().parents[5] / "docs" / "swift-compat.md"


def test_published_table_is_current() -> None:
    assert DOC.read_text() == compat.render(), (
        "run: python -m objectstore.proxy.swift.compat > docs/swift-compat.md"
    )


def test_every_middleware_in_the_pipeline_has_a_row() -> None:
    modules = {mw.module for mw in compat.MIDDLEWARES}
    assert set(middleware.ORDER) <= modules


def test_supported_means_in_the_pipeline_and_in_info() -> None:
    sections = pipeline.info_sections()
    for mw in compat.MIDDLEWARES:
        if compat.status(mw) == "supported":
            assert mw.module in middleware.ORDER, mw.name
            assert all(key in sections for key in mw.info), mw.name


def test_status_follows_order(monkeypatch: pytest.MonkeyPatch) -> None:
    bulk = next(mw for mw in compat.MIDDLEWARES if mw.name == "bulk")
    monkeypatch.setattr(middleware, "ORDER", ())
    assert compat.status(bulk) == "not implemented"
    assert "not implemented" in compat.render().split("| bulk |")[1].split("\n")[0]
