"""Identity store speed: token and credential lookups, key checks, token issue, HTTP login.

    .venv/bin/python bench/identity.py [--lookups N] [--dir /var/tmp]

Prints one JSON document. Lookups (every Swift or S3 request pays one) are
read-only LMDB gets; key checks are scrypt by design; issuing a token is a
synced LMDB write.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from stratus.identity import IdentityStore
from stratus.identity.tempauth import make_auth_routes


def rate(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


async def http_logins(store: IdentityStore, n: int, concurrency: int) -> dict[str, float]:
    app = web.Application()
    app.add_routes(make_auth_routes(store, 3600))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    headers = {"X-Auth-User": "bench:user", "X-Auth-Key": "bench-key"}
    latencies: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:

            async def one() -> None:
                t0 = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}/auth/v1.0", headers=headers) as r:
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - t0)

            sem = asyncio.Semaphore(concurrency)

            async def bounded() -> None:
                async with sem:
                    await one()

            t0 = time.perf_counter()
            await asyncio.gather(*(bounded() for _ in range(n)))
            elapsed = time.perf_counter() - t0
    finally:
        await runner.cleanup()
    return {
        "logins_per_s": round(n / elapsed, 1),
        "login_median_ms": round(statistics.median(latencies) * 1000, 1),
        "concurrency": concurrency,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lookups", type=int, default=20000)
    ap.add_argument("--dir", default="/var/tmp")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(dir=args.dir, prefix="stratus-identity-bench-"))
    try:
        with IdentityStore(base / "identity") as store:
            store.create_project("bench")
            store.create_user("bench", "user", key="bench-key")
            token, _ = store.issue_token("bench", "user", 3600)
            access, _ = store.create_credential("bench", "user")
            checks = []
            for _ in range(10):
                t0 = time.perf_counter()
                assert store.check_key("bench", "user", "bench-key") is not None
                checks.append(time.perf_counter() - t0)
            result = {
                "authenticate_token_per_s": round(
                    rate(lambda: store.authenticate_token(token), args.lookups)
                ),
                "lookup_credential_per_s": round(
                    rate(lambda: store.lookup_credential(access), args.lookups)
                ),
                "check_key_median_ms": round(statistics.median(checks) * 1000, 1),
                "issue_token_per_s": round(
                    rate(lambda: store.issue_token("bench", "user", 3600), 200), 1
                ),
                "http": asyncio.run(http_logins(store, 40, 4)),
            }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
