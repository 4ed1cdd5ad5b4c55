"""The compute service never imports the test-guest builder (production code, not test tooling)."""

from __future__ import annotations

import ast
from pathlib import Path

import compute_glue

ROOT = Path(compute_glue.__file__).parent
BUILDER = "compute_glue.guest_image"
# What may use the builder: itself, and the upload of the test guest behind `stratus image`.
ALLOWED = {ROOT / "guest_image.py", ROOT / "images" / "testguest.py"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_only_test_tooling_imports_the_guest_builder() -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if path not in ALLOWED and BUILDER in _imports(path)
    )
    assert users == []
