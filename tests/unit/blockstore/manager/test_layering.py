"""The manager package stands below backups, images, the API and the wiring: it
imports none of them (issue 14: the manager <-> backup cycle stays closed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
MANAGER = ROOT / "blockstore" / "manager"
ABOVE = ("blockstore.backup", "blockstore.api", "blockstore.services", "blockstore.service")


def _imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(MANAGER.glob("*.py")), ids=lambda p: p.name)
def test_the_manager_imports_nothing_above_it(path: Path) -> None:
    bad = [n for n in _imported(path) if any(n == a or n.startswith(a + ".") for a in ABOVE)]
    assert not bad, f"{path.name} imports {bad}"


def test_the_check_sees_a_bad_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from blockstore.backup.ops import Backups\n")
    assert _imported(bad) == ["blockstore.backup.ops"]
