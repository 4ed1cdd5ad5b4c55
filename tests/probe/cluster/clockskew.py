"""Concurrent overwrites through two proxies whose clocks disagree (run in the client
namespace of a host cluster; tests/probe/cluster/test_clock_skew.py).

Proxy A keeps the real time; proxy B runs ``proxy.test_clock_offset`` seconds ahead.
Every round overwrites each key through both proxies at once; a last round writes
each key through B and then, once B answered, through A, so A's write is the later one
by the wall clock and the older one by timestamp. Each acknowledged write is recorded
with the timestamp its answer carries (``Last-Modified``; rounds are more than a second
apart, so a proxy's writes of one key never share a second). The winner of a key is the
acknowledged write with the newest recorded timestamp (``--order wall``: the last one
acknowledged, the wrong rule, for the test that the checker can fail). The state file
has workload.py's format, so ``workload verify`` then checks every read and replica.

Also recorded: a DELETE through A of an object B wrote (its timestamp is older than the
object's), and what each proxy says of an object whose X-Delete-At lies between the two
clocks.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp

from tests.probe.cluster.workload import _swift
from tests.probe.objectstore.harness import Swift

ROUNDS = 4


@dataclass
class Ack:
    key: str
    proxy: str  # "A" (real clock) or "B" (ahead)
    body: str
    stamp: float  # the answer's Last-Modified (seconds)
    acked_at: float  # the client's clock when the answer came


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _stamp(headers: Any) -> float:
    return parsedate_to_datetime(headers["Last-Modified"]).timestamp()


async def _put(
    swift: Swift, proxy: str, container: str, key: str, body: str, acks: list[Ack]
) -> None:
    status, _, headers = await swift.request("PUT", f"/{container}/{key}", body.encode())
    if status == 201:
        acks.append(Ack(key, proxy, body, _stamp(headers), time.time()))


def winners(acks: list[Ack], order: str) -> tuple[dict[str, Ack], dict[str, list[Ack]]]:
    """Per key, the write that must be left: the newest timestamp (or, wrongly, the last
    acknowledged); and per key the other writes that tie with it (a second's resolution:
    the rounds are spaced so that none should)."""

    def rank(a: Ack) -> float:
        return a.stamp if order == "timestamp" else a.acked_at

    out: dict[str, Ack] = {}
    ties: dict[str, list[Ack]] = {}
    for a in sorted(acks, key=lambda a: a.acked_at):
        cur = out.get(a.key)
        if cur is None or rank(a) > rank(cur):
            out[a.key], ties[a.key] = a, []
        elif rank(a) == rank(cur):
            ties[a.key].append(a)
    return out, {k: v for k, v in ties.items() if v}


async def load(args: argparse.Namespace) -> dict[str, Any]:
    acks: list[Ack] = []
    keys = [f"k{i:02d}" for i in range(args.keys)]
    async with aiohttp.ClientSession() as session:
        a = await _swift(session, args.auth_a, args.user, args.key)
        b = await _swift(session, args.auth_b, args.user, args.key)
        status = (await a.request("PUT", f"/{args.container}"))[0]
        assert status in (201, 202), status
        for r in range(ROUNDS):
            await asyncio.gather(
                *(_put(a, "A", args.container, k, f"{k} r{r} via A", acks) for k in keys),
                *(_put(b, "B", args.container, k, f"{k} r{r} via B", acks) for k in keys),
            )
            await asyncio.sleep(1.1)
        for k in keys:  # B first, then A: A's write is the later one by the wall clock
            await _put(b, "B", args.container, k, f"{k} last via B", acks)
            await _put(a, "A", args.container, k, f"{k} last via A", acks)
        skew = _skew(acks)
        deleted = await _delete_older(a, b, args.container)
        expiry = await _expiry(a, b, args.container)
    won, ties = winners(acks, args.order)
    state = {
        key: {"acked": _md5(w.body), "maybe": [_md5(t.body) for t in ties.get(key, [])]}
        for key, w in won.items()
    }
    Path(args.state).write_text(json.dumps({"container": args.container, "keys": state}))
    return {
        "clock": {
            "acked": len(acks),
            "skew_seconds": skew,
            "winners_by_proxy": {p: sum(w.proxy == p for w in won.values()) for p in "AB"},
            "ties": len(ties),
            "delete_older": deleted,
            "expiry": expiry,
            "sample": [asdict(w) for w in list(won.values())[:2]],
        }
    }


def _skew(acks: list[Ack]) -> float:
    """How far B's timestamps ran ahead of A's in the concurrent rounds (median)."""
    first: dict[tuple[str, str], float] = {}
    for a in acks:
        if " r" in a.body:
            first[(a.body.replace(" via A", "").replace(" via B", ""), a.proxy)] = a.stamp
    gaps = sorted(
        first[(k, "B")] - first[(k, "A")] for k, p in first if p == "A" and (k, "B") in first
    )
    return gaps[len(gaps) // 2] if gaps else 0.0


async def _delete_older(a: Swift, b: Swift, container: str) -> dict[str, Any]:
    """B writes an object; A deletes it at once (the DELETE's timestamp is older)."""
    name = f"/{container}/deleted-by-A"
    put = (await b.request("PUT", name, b"written via B"))[0]
    delete = (await a.request("DELETE", name))[0]
    after = (await a.request("GET", name))[0]
    return {"put": put, "delete": delete, "get_after": after}


async def _expiry(a: Swift, b: Swift, container: str) -> dict[str, Any]:
    """X-Delete-At 12 s ahead of the real clock: past for B (30 s ahead), future for A."""
    when = str(int(time.time()) + 12)
    name = f"/{container}/expiring"
    put_a = (await a.request("PUT", name, b"x", {"X-Delete-At": when}))[0]
    put_b = (await b.request("PUT", f"{name}-b", b"x", {"X-Delete-At": when}))[0]
    return {
        "put_via_A": put_a,
        "put_via_B": put_b,
        "get_via_A": (await a.request("GET", name))[0],
        "get_via_B": (await b.request("GET", name))[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--auth-a", required=True)
    parser.add_argument("--auth-b", required=True)
    parser.add_argument("--user", default="admin:admin")
    parser.add_argument("--key", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--container", default="clock-skew")
    parser.add_argument("--keys", type=int, default=12)
    parser.add_argument("--order", choices=("timestamp", "wall"), default="timestamp")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(load(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
