"""A TCP relay that delays every byte by a fixed time each way: a slow link without netem.

    python -m tests.helpers.relay --listen 0.0.0.0:16200 --to 10.1.2.3:6200 --delay 0.2

The cluster harness runs it inside a host's namespace and redirects the
host's inbound connections to it (nftables), so every peer sees the host as
``delay`` seconds away in each direction. Order is kept per direction, and a
bounded queue gives back-pressure. On SIGTERM it prints one JSON line:
connections and bytes relayed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time

QUEUE = 256  # chunks in flight per direction before the reader waits
stats = {"connections": 0, "bytes": 0}


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE)

    async def read() -> None:
        while chunk := await reader.read(65536):
            await queue.put((time.monotonic() + delay, chunk))
        await queue.put((time.monotonic() + delay, b""))

    async def write() -> None:
        while True:
            due, chunk = await queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            stats["bytes"] += len(chunk)
            await writer.drain()

    with contextlib.suppress(ConnectionError, OSError):
        await asyncio.gather(read(), write())


async def serve(listen: tuple[str, int], to: tuple[str, int], delay: float) -> None:
    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        stats["connections"] += 1
        try:
            ur, uw = await asyncio.open_connection(*to)
        except OSError:
            cw.close()
            return
        try:
            await asyncio.gather(_pump(cr, uw, delay), _pump(ur, cw, delay))
        finally:
            for w in (cw, uw):
                w.close()

    server = await asyncio.start_server(handle, *listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        print(json.dumps({"relay": "listening"}), flush=True)
        await stop.wait()
    print(json.dumps({"relay": stats}), flush=True)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=_address, required=True)
    ap.add_argument("--to", type=_address, required=True)
    ap.add_argument("--delay", type=float, required=True, help="seconds, each direction")
    args = ap.parse_args(argv)
    asyncio.run(serve(args.listen, args.to, args.delay))
    return 0


if __name__ == "__main__":
    sys.exit(main())
