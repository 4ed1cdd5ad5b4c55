"""docs/iscsi.md is generated from the target's own tables and kept in step."""

from __future__ import annotations

from pathlib import Path

from blockstore.iscsi import pdu as P
from blockstore.iscsi.compat import render
from blockstore.iscsi.connection import FULL_FEATURE
from blockstore.iscsi.tmf import FUNCTIONS

DOC = Path(__file__).resolve().parents[4] / "docs" / "iscsi.md"


def test_docs_match_the_code() -> None:
    assert DOC.read_text() == render(), "run: .venv/bin/stratus target compat > docs/iscsi.md"


def test_the_matrix_lists_what_the_dispatch_tables_hold() -> None:
    text = render()
    for op in FULL_FEATURE:
        assert f"| 0x{op:02x} | {P.Op(op).name} |" in text
    for function in FUNCTIONS:
        assert f"| {P.TmfFunction(function).name} | supported |" in text
    assert "| TASK_REASSIGN | Task management function not supported |" in text
