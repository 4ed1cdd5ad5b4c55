#!/usr/bin/env bash
# Lint, format check and static types: what `make lint` runs, and scripts/test.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Static types ([tool.pyright] in pyproject.toml). IGNORE_WARNINGS: no asking PyPI for a newer
# pyright on every run; the pinned one is bundled in the wheel and runs offline.
PYRIGHT_PYTHON_IGNORE_WARNINGS=1 .venv/bin/pyright
