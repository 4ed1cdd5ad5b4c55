#!/usr/bin/env bash
# What `make bench` runs: every benchmark once, each writing its JSON into one results folder.
#
#   make bench           # quick, no peers: Stratus beside the machine's own limits (10-20 min)
#   make bench PEERS=1   # also installs the peers (OpenStack Swift from PyPI, tgt from Debian),
#                        # runs them in the same benchmarks and prints the ratios
#   make bench FULL=1    # the full-size runs instead of the quick ones (see bench/README.md)
#
# Results go to $BENCH_OUT (default ${XDG_CACHE_HOME:-$HOME/.cache}/stratus-bench/results/DATE).
# One benchmark failing does not stop the others; the exit status says whether any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PEERS=${PEERS:-0}
FULL=${FULL:-0}
OUT=${BENCH_OUT:-${XDG_CACHE_HOME:-$HOME/.cache}/stratus-bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
failed=()

run() {  # $1 name, rest: the script and its arguments
  local name=$1
  shift
  echo "== $name: $*" >&2
  local t0=$SECONDS
  if "$PY" "$@" > "$OUT/$name.json"; then
    echo "   $name: $((SECONDS - t0)) s -> $OUT/$name.json" >&2
  else
    echo "   $name FAILED after $((SECONDS - t0)) s (partial JSON in $OUT/$name.json)" >&2
    failed+=("$name")
  fi
}

if [[ $FULL == 1 ]]; then
  quick=()
  repeats=3
  sizes=(--ops 3000)
else
  quick=(--quick)
  repeats=1
  sizes=(--ops 500)
fi

if [[ $PEERS == 1 ]]; then
  bash bench/peers/swift.sh install || failed+=(swift-install)
  run objects bench/objects.py "${quick[@]}" --api both --with-swift --pairs 3
  run iscsi bench/iscsi.py "${quick[@]}" --uncached
  run ring bench/ring.py "${quick[@]}"
  run s3_suite bench/s3_suite.py --with-swift
  run swift_conformance bench/swift_conformance.py --start-swift
else
  run objects bench/objects.py "${quick[@]}" --pairs 3
  run iscsi bench/iscsi.py "${quick[@]}" --only stratus,raw --uncached
  run ring bench/ring.py "${quick[@]}" --no-swift
fi
run startup bench/startup.py --repeats "$repeats"
run identity bench/identity.py
run node bench/node.py "${sizes[@]}"
run cluster bench/cluster.py "${quick[@]}"

echo "results: $OUT" >&2
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
