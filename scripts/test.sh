#!/usr/bin/env bash
# The whole test suite: lint and static types, then every test. Extra arguments go to pytest.
# --durations=30: the run ends with its 30 slowest steps, so CI shows where the time goes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/lint.sh  # ruff, then pyright
exec .venv/bin/python -m pytest --durations=30 "$@"
