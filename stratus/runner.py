"""Running a service process: one event loop until SIGTERM or SIGINT, then a graceful stop.

Every service command runs ``stratus.runner.run(main)``, where ``main(stop)``
serves until the ``stop`` event is set and then cleans up (an HTTP service
usually as ``async with serving(app, sock, limits): await stop.wait()``).
The loop is uvloop when installed, else the standard library's; a service
whose libraries uvloop refuses asks for the latter.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run(
    main: Callable[[asyncio.Event], Awaitable[T]],
    *,
    uvloop: bool = True,
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> T:
    """Run ``main(stop)`` to its end; ``signals`` (SIGTERM, SIGINT) set ``stop``. Its result.

    ``uvloop=False``: the standard library's loop (e.g. for pyroute2's
    netlink sockets, which uvloop does not take).
    """
    return loop_runner(uvloop)(until_signalled(main, signals))


async def until_signalled(
    main: Callable[[asyncio.Event], Awaitable[T]],
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> T:
    """``main(stop)`` on the running loop, with ``signals`` setting ``stop``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        return await main(stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def loop_runner(uvloop: bool = True) -> Callable[[Coroutine[Any, Any, T]], T]:
    """``uvloop.run`` when wanted and installed, else ``asyncio.run``."""
    if uvloop:
        try:
            import uvloop as fast
        except ImportError:  # pragma: no cover - uvloop is a dependency
            pass
        else:
            return fast.run
    return asyncio.run
