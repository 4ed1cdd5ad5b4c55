"""`stratus up`: the whole cloud on one machine, on embedded defaults.

Everything lives under one data directory (``./stratus-data`` or
``$STRATUS_DATA``); the first start creates the cluster salts, the rings and
the admin user, later starts reuse them, so a restart keeps every object.
See :mod:`stratus.cli.launcher` for what runs and :mod:`stratus.cli.supervisor`
for how the children are kept and stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from stratus import config, runner
from stratus.cli.launcher import AlreadyRunning, Launcher
from stratus.cli.supervisor import ChildFailed
from stratus.identity import IdentityError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="run the whole cloud on this machine (Ctrl-C stops it)")
    p.add_argument(
        "--exit-after-start",
        action="store_true",
        help="start, report what runs, and stop (for checks)",
    )
    p.set_defaults(func=_up)


def _say(msg: str) -> None:
    print(f"stratus: {msg}", flush=True)


async def _serve(
    cfg: config.Config, exit_after_start: bool, config_file: str | None, stop: asyncio.Event
) -> None:
    launcher = Launcher(cfg, log=_say)
    starting = asyncio.ensure_future(launcher.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        await launcher.stop()
        _say("stopped before start-up finished")
        return
    stopping.cancel()
    try:
        banner = starting.result()
    except BaseException:
        await launcher.stop()
        raise
    banner.config_file = config_file
    for line in banner.lines():
        _say(line)
    if exit_after_start:
        stop.set()
    await launcher.run(stop)
    _say("stopped")


def _up(args: argparse.Namespace) -> int:
    cfg = config.load(args.config)
    try:
        runner.run(
            lambda stop: _serve(cfg, args.exit_after_start, args.config, stop),
            signals=STOP_SIGNALS,
        )
    except (ChildFailed, AlreadyRunning, IdentityError) as exc:
        print(f"stratus: error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
