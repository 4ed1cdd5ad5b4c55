#!/usr/bin/env bash
# The whole test suite: lint, then every test. Extra arguments go to pytest.
# --durations=30: the run ends with its 30 slowest steps, so CI shows where the time goes.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Static types ([tool.pyright] in pyproject.toml). IGNORE_WARNINGS: no asking PyPI for a newer
# pyright on every run; the pinned one is bundled in the wheel and runs offline.
PYRIGHT_PYTHON_IGNORE_WARNINGS=1 .venv/bin/pyright
exec .venv/bin/python -m pytest --durations=30 "$@"
