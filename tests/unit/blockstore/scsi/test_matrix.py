"""docs/scsi.md is generated from the opcode table and must match it."""

from __future__ import annotations

from pathlib import Path

from blockstore.scsi.matrix import render
from blockstore.scsi.opcodes import TABLE

DOC = Path(__file__).resolve().parents[4] / "docs" / "scsi.md"


def test_the_committed_matrix_is_current() -> None:
    assert DOC.read_text() == render(), (
        "regenerate: python -m blockstore.scsi.matrix > docs/scsi.md"
    )


def test_every_command_has_a_row() -> None:
    text = render()
    for command in TABLE.all():
        assert f"| {command.name}" in text
