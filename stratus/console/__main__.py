"""`python -m stratus.console --config FILE`: the console as a process of its own (`stratus up`)."""

from __future__ import annotations

import argparse

from stratus import config, runner
from stratus.console.app import serve
from stratus.logs import setup_logging


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m stratus.console")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    args = parser.parse_args()
    cfg = config.load(args.config)
    setup_logging()
    runner.run(lambda stop: serve(cfg, stop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
