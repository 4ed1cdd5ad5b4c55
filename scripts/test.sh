#!/usr/bin/env bash
# The whole test suite: lint and static types, then every test. Extra arguments go to pytest.
# --durations=30: the run ends with its 30 slowest steps, so CI shows where the time goes.
# -n 4 --dist loadgroup: four pytest-xdist workers; most of the suite's time is waiting (VMs
# under TCG, replication passes, processes starting), so four pay on two cores. Tests sharing
# a fixture run as one group on one worker, longest groups first, at most two booting VMs at
# once (tests/helpers/parallel.py). `scripts/test.sh -n 0` runs the suite serially.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/lint.sh  # ruff, then pyright
exec .venv/bin/python -m pytest -n 4 --dist loadgroup --durations=30 "$@"
