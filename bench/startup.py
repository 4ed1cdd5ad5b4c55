"""Seconds from `stratus up` to the first successful PUT, cold (empty data dir) and warm.

    .venv/bin/python bench/startup.py [--repeats N] [--out FILE]

"Successful PUT" means: /auth/v1.0 issued a token, a container PUT and an
object PUT both answered 2xx, and a GET of the object returned the same
bytes: the clock stops only once the object reads back. The target is under
5 seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _launch import StratusUp, emit, request


def first_put(up: StratusUp, timeout: float = 60.0) -> float:
    """Spawn `stratus up`; the seconds until a PUT object reads back with the same bytes."""
    body = b"first object " + os.urandom(16).hex().encode()
    t0 = up.spawn()
    deadline = t0 + timeout
    stored = False
    while time.monotonic() < deadline:
        if up.proc is not None and up.proc.poll() is not None:
            raise RuntimeError(f"stratus up exited: {up.log_tail()}")
        got = up.auth()
        if got is not None:
            url, token = got
            obj = f"{url}/startup/first"
            if not stored:
                stored = (
                    request("PUT", f"{url}/startup", token)[0] // 100 == 2
                    and request("PUT", obj, token, body)[0] // 100 == 2
                )
            if stored and request("GET", obj, token) == (200, body):
                return time.monotonic() - t0
        time.sleep(0.01)
    raise RuntimeError(f"no PUT read back in {timeout}s: {up.log_tail()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--out")
    args = ap.parse_args()
    cold, warm, stop_s = [], [], []
    for _ in range(args.repeats):
        base = Path(tempfile.mkdtemp(dir=args.dir, prefix="stratus-startup-"))
        try:
            up = StratusUp(base / "data")  # the warm start reuses its ports (the rings)
            for runs in (cold, warm):
                runs.append(first_put(up))
                t = time.monotonic()
                up.stop()
                stop_s.append(time.monotonic() - t)
        finally:
            shutil.rmtree(base, ignore_errors=True)
    doc = {
        "bench": "startup/2",
        "first_put": "container PUT, object PUT, then a GET returning the same bytes",
        "target_s": 5.0,
        "cold_first_put_s": {
            "median": round(statistics.median(cold), 3),
            "all": [round(x, 3) for x in cold],
        },
        "warm_first_put_s": {
            "median": round(statistics.median(warm), 3),
            "all": [round(x, 3) for x in warm],
        },
        "stop_s": {"max": round(max(stop_s), 3)},
    }
    emit(doc, args.out)


if __name__ == "__main__":
    main()
