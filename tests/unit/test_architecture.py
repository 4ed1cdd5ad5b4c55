"""The package arrows of ARCHITECTURE.md, checked on every import statement.

An equivalent of import-linter's contracts, kept here so that the rule and
its exceptions are read in one place.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("ring", "objectstore", "s3compat", "blockstore", "compute_glue", "stratus")

# package -> first-party modules it may import (prefix match on dotted names).
ALLOWED: dict[str, tuple[str, ...]] = {
    "ring": ("ring",),
    "stratus": ("stratus",),  # but never stratus.cli: see below
    "objectstore": ("objectstore", "ring", "stratus"),
    "s3compat": ("s3compat", "objectstore", "stratus"),
    # objectstore.apiclient: the typed client of the public native API (backups, images).
    "blockstore": ("blockstore", "stratus", "objectstore.apiclient"),
    "compute_glue": (
        "compute_glue",
        "stratus",
        "blockstore.client",
        "objectstore.apiclient",
    ),
    "stratus.cli": FIRST_PARTY,
}
# Third-party modules the ring may use: it must stay pure placement math.
RING_THIRD_PARTY = ("xxhash",)


def _package_of(module: str) -> str:
    if module == "stratus.cli" or module.startswith("stratus.cli."):
        return "stratus.cli"
    return module.split(".")[0]


def _modules() -> list[tuple[str, Path]]:
    found = []
    for pkg in FIRST_PARTY:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append((".".join(parts), path))
    return found


def _imports(module: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_pkg:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.append(target)
            names += [f"{target}.{alias.name}" for alias in node.names]
    return names


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("module,path", _modules(), ids=lambda v: str(v))
def test_imports_follow_the_arrows(module: str, path: Path) -> None:
    pkg = _package_of(module)
    allowed = ALLOWED[pkg]
    for name in _imports(module, path):
        top = name.split(".")[0]
        if top in FIRST_PARTY:
            if pkg == "stratus" and _matches(name, ("stratus.cli",)):
                pytest.fail(f"{module} imports {name}: foundations never import the CLI")
            # `from x import y` yields both x and x.y; the module itself decides.
            if not _matches(name, allowed) and not any(_matches(a, (name,)) for a in allowed):
                pytest.fail(f"{module} imports {name}; {pkg} may import only {allowed}")
        elif pkg == "ring" and top not in sys.stdlib_module_names and top != "__future__":
            assert top in RING_THIRD_PARTY, f"{module} imports {name}: ring is stdlib + xxhash"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The check above must be able to fail."""
    bad = tmp_path / "bad.py"
    bad.write_text("from objectstore.proxy import core\nimport boto3\n")
    names = _imports("ring.bad", bad)
    assert "objectstore.proxy" in names
    assert not _matches("objectstore.proxy", ALLOWED["ring"])
