# The two commands of README.md, and the benchmarks. Each bootstraps .venv
# (and, as root, the Debian packages) before it runs.
.PHONY: up test lint bench bootstrap

bootstrap:
	@scripts/bootstrap.sh

up: bootstrap
	@.venv/bin/stratus up

test: bootstrap
	@scripts/test.sh

lint: bootstrap
	@scripts/lint.sh

# Quick benchmarks of Stratus beside the machine's own limits; PEERS=1 also installs
# OpenStack Swift (PyPI) and tgt (Debian) and compares; FULL=1 the full-size runs.
bench: bootstrap
	@PEERS=$(PEERS) FULL=$(FULL) bench/run.sh
