"""`python -m stratus.console --config FILE`: the console as a process of its own (`stratus up`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

import uvloop

from stratus import config
from stratus.console.app import serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m stratus.console")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    args = parser.parse_args()
    cfg = config.load(args.config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(cfg, stop)

    uvloop.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
