"""System tools that some tests need.

Locally a missing tool skips the test with the reason; in CI
(``STRATUS_REQUIRE_TOOLS=1``) it fails it, so CI can never go green by
skipping what it was meant to run.
"""

from __future__ import annotations

import os
import shutil

import pytest


def tools_required() -> bool:
    return os.environ.get("STRATUS_REQUIRE_TOOLS", "") not in ("", "0")


def need_tool(name: str, package: str) -> str:
    """Return the path of ``name``, or skip/fail the test when it is missing."""
    path = shutil.which(name)
    if path is None:
        missing_tool(f"{name} (Debian package {package}) is not installed")
    return path  # type: ignore[return-value]


def missing_tool(reason: str) -> None:
    if tools_required():
        pytest.fail(f"required tool missing: {reason}")
    pytest.skip(reason)
