"""`stratus up`: the whole cloud on one machine, on embedded defaults."""

from __future__ import annotations

import argparse
import asyncio
import signal

from stratus import config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="run the whole cloud on this machine (Ctrl-C stops it)")
    p.add_argument(
        "--exit-after-start",
        action="store_true",
        help="start, report what runs, and stop (for checks)",
    )
    p.set_defaults(func=_up)


async def _serve(cfg: config.Config, exit_after_start: bool) -> None:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"stratus: data directory {cfg.data_dir.resolve()}")
    print("stratus: no services are built in yet; nothing else runs")
    if exit_after_start:
        return
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("stratus: up (Ctrl-C stops)")
    await stop.wait()
    print("stratus: stopped")


def _up(args: argparse.Namespace) -> int:
    cfg = config.load(args.config)
    asyncio.run(_serve(cfg, args.exit_after_start))
    return 0
