# The two commands of README.md. Both bootstrap .venv (and, as root, the
# Debian packages) before they run.
.PHONY: up test lint bench bootstrap

bootstrap:
	@scripts/bootstrap.sh

up: bootstrap
	@.venv/bin/stratus up

test: bootstrap
	@scripts/test.sh

lint: bootstrap
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .
