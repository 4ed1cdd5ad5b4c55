"""The package arrows of ARCHITECTURE.md, checked on every import statement.

An equivalent of import-linter's contracts, kept here so that the rule and
its exceptions are read in one place. Three kinds of rule:

- between packages (``ALLOWED``): who may import whom;
- inside packages (``FORBIDDEN``): arrows the design states, such as the
  storage node never importing the proxy;
- imports that would dodge the table: parent-package relative imports
  (``from .. import x``) and ``importlib``/``__import__`` with a target the
  check cannot read. Every top-level folder is either a first-party package
  or a known non-package folder, so a new package is never taken silently
  for a third-party one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("ring", "objectstore", "s3compat", "blockstore", "compute_glue", "stratus")
# Top-level folders that hold Python but are not packages of the product.
NOT_PACKAGES = ("tests", "bench", "scripts", "docs")

# package -> first-party modules it may import (prefix match on dotted names).
ALLOWED: dict[str, tuple[str, ...]] = {
    "ring": ("ring",),
    "stratus": ("stratus",),  # but never stratus.cli
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

# (importer prefix, imported prefixes it must never reach, why): arrows inside packages.
FORBIDDEN: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "objectstore.node",
        ("objectstore.proxy", "objectstore.apiclient"),
        "a storage node serves the proxy and never depends on it",
    ),
    (
        "objectstore.client",
        ("objectstore.node", "objectstore.proxy"),
        "the node client speaks the node's wire format (objectstore.common), not its code",
    ),
    (
        "objectstore.common",
        ("objectstore.node", "objectstore.proxy", "objectstore.client"),
        "the neutral layer stands under node, client and proxy",
    ),
    ("blockstore.manager", ("blockstore.backup",), "backups build on the manager, not under it"),
    (
        "s3compat",
        ("objectstore.proxy.swift",),
        "front-ends share the proxy core, never each other's internals",
    ),
    ("objectstore.proxy.swift", ("s3compat",), "front-ends never import each other"),
    (
        "compute_glue.servers",
        ("compute_glue.guest_image", "compute_glue.images.testguest"),
        "production code never depends on test tooling",
    ),
)
# (importer prefix, imported prefix, the only names it may take from there, why).
ONLY: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "objectstore.node",
        "objectstore.client",
        ("objectstore.client", "objectstore.client.NodeClient", "objectstore.client.TRANS_ID"),
        "the node calls its peers through NodeClient; values come from objectstore.common",
    ),
)
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


def _dynamic_target(call: ast.Call) -> str | None:
    """The module an importlib.import_module / __import__ call names, as a dotted prefix.

    A literal gives its value; an f-string gives its literal head up to the first
    placeholder (``f"stratus.cli.{name}"`` -> ``stratus.cli``). Anything else is
    unreadable and reported as ``?``.
    """
    func = call.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    )
    if not named or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values:
        head = arg.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value.rstrip(".") or "?"
    return "?"


def _imports(module: str, path: Path) -> tuple[list[str], list[str]]:
    """(dotted names imported, problems with how they are imported)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    names: list[str] = []
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > 1:
                    problems.append(f"line {node.lineno}: parent-package import; name it in full")
                base = module.split(".")
                if not is_pkg:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.append(target)
            names += [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call):
            target = _dynamic_target(node)
            if target == "?":
                problems.append(f"line {node.lineno}: dynamic import of a computed name")
            elif target is not None:
                names.append(target)
    return names, problems


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(module: str, path: Path) -> list[str]:
    """Every rule of this file that one module breaks, as readable lines."""
    pkg = _package_of(module)
    allowed = ALLOWED[pkg]
    names, found = _imports(module, path)
    found = [f"{module}: {p}" for p in found]
    for name in names:
        top = name.split(".")[0]
        if top in FIRST_PARTY:
            # `from x import y` yields both x and x.y; the module itself decides.
            if not _matches(name, allowed) and not any(_matches(a, (name,)) for a in allowed):
                found.append(f"{module} imports {name}; {pkg} may import only {allowed}")
            if pkg == "stratus" and _matches(name, ("stratus.cli",)):
                found.append(f"{module} imports {name}: foundations never import the CLI")
            for importer, banned, why in FORBIDDEN:
                if _matches(module, (importer,)) and _matches(name, banned):
                    found.append(f"{module} imports {name}: {why}")
            for importer, source, names_ok, why in ONLY:
                inside = _matches(module, (importer,)) and _matches(name, (source,))
                if inside and name not in names_ok:
                    found.append(f"{module} imports {name}: {why}")
        elif top in NOT_PACKAGES or ((ROOT / top).is_dir() and top.isidentifier()):
            found.append(f"{module} imports {name}: {top}/ is not a first-party package")
        elif pkg == "ring" and top not in (
            *sys.stdlib_module_names,
            "__future__",
            *RING_THIRD_PARTY,
        ):
            found.append(f"{module} imports {name}: ring is stdlib + xxhash")
    return found


@pytest.mark.parametrize("module,path", _modules(), ids=lambda v: str(v))
def test_imports_follow_the_arrows(module: str, path: Path) -> None:
    assert violations(module, path) == []


def test_every_top_level_folder_is_known() -> None:
    """A new folder of Python code must be added to FIRST_PARTY or NOT_PACKAGES."""
    unknown = []
    for folder in sorted(p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name in FIRST_PARTY or folder.name in NOT_PACKAGES:
            continue
        if folder.name.endswith(".egg-info") or folder.name in ("build", "dist", "node_modules"):
            continue
        if any(folder.rglob("*.py")):
            unknown.append(folder.name)
    assert unknown == []


@pytest.mark.parametrize(
    "module,source,expected",
    [
        ("ring.bad", "from objectstore.proxy import core\n", "ring may import only"),
        ("ring.bad", "import boto3\n", "ring is stdlib + xxhash"),
        ("objectstore.node.bad", "from objectstore.proxy import core\n", "never depends on it"),
        ("objectstore.node.bad", "from objectstore.client import NotFound\n", "values come from"),
        ("objectstore.client.bad", "from objectstore.node import wire\n", "not its code"),
        ("objectstore.common.bad", "import objectstore.proxy.core\n", "stands under"),
        ("blockstore.manager.bad", "from blockstore.backup import ops\n", "not under it"),
        ("s3compat.bad", "from objectstore.proxy.swift import acl\n", "each other's internals"),
        ("stratus.bad", "from stratus.cli import main\n", "never import the CLI"),
        ("stratus.console.views.bad", "from ..auth import page\n", "parent-package import"),
        ("ring.bad", "import importlib\nimportlib.import_module('boto3')\n", "ring is stdlib"),
        ("ring.bad", "import importlib\nimportlib.import_module(x)\n", "computed name"),
        ("blockstore.bad", "__import__(f'compute_glue.{x}')\n", "blockstore may import only"),
        ("stratus.bad", "import tests.helpers\n", "not a first-party package"),
    ],
)
def test_the_checker_sees_a_violation(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    """The real check, run on a bad module, must fail it."""
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    found = violations(module, bad)
    assert any(expected in line for line in found), found


def test_the_checker_passes_a_good_module(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text(
        "import json\nfrom objectstore.common import wire\nfrom stratus import config\n"
    )
    assert violations("s3compat.good", good) == []
