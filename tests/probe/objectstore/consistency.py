"""Mixed load with a consistency checker: no acknowledged write may be lost or go stale.

Each worker owns its keys, so what a key must hold is known exactly: after
an acknowledged PUT its body, after an acknowledged DELETE nothing. A write
that failed (after its retries) may or may not have happened, so until the
next acknowledged write of that key its value is also allowed. A read that
returns anything else is *lost* (nothing where an acknowledged body should
be) or *stale* (an older body).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.probe.objectstore.harness import Swift, body_for, md5

SIZES = (64, 3000, 40_000, 200_000)
Value = bytes | None


@dataclass
class KeyState:
    acked: Value = None  # what the last acknowledged write left (None: nothing)
    maybe: list[Value] = field(default_factory=list)  # failed writes since then
    version: int = 0

    def allowed(self, got: Value) -> bool:
        return got == self.acked or got in self.maybe


@dataclass
class Report:
    ops: int = 0
    puts: int = 0
    gets: int = 0
    deletes: int = 0
    retried: int = 0  # operations that needed their retry
    failed: int = 0  # operations that failed even after the retry
    lost: int = 0
    stale: int = 0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["problems"] = self.problems[:20]
        return out


class Checker:
    """Drive ``workers`` x ``keys`` objects in ``container`` and judge every read."""

    def __init__(
        self,
        swift: Swift,
        container: str,
        *,
        workers: int,
        keys: int,
        retries: int = 1,
        seed: int = 7,
    ) -> None:
        self.swift = swift
        self.container = container
        self.retries = retries
        self.seed = seed
        self.workers = workers
        self.state = {f"w{w}/k{k}": KeyState() for w in range(workers) for k in range(keys)}
        self.report = Report()

    def keys_of(self, worker: int) -> list[str]:
        return [k for k in self.state if k.startswith(f"w{worker}/")]

    async def _call(
        self, method: str, key: str, data: bytes | None = None, tries: list[int] | None = None
    ) -> tuple[int, bytes] | None:
        """(status, body) of the first attempt that got an answer below 500; None if none did.

        ``tries`` gets the number of the attempt that answered (0: the first).
        """
        last = ""
        for attempt in range(self.retries + 1):
            if tries is not None:
                tries[:] = [attempt]
            if attempt:
                self.report.retried += 1
                await asyncio.sleep(0.2)
            try:
                status, body, _ = await self.swift.request(method, f"/{self.container}/{key}", data)
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{method} {key}: {exc!r}"
                continue
            if status < 500:
                return status, body
            last = f"{method} {key}: {status}"
        self.report.failed += 1
        self.report.problems.append(f"failed: {last}")
        return None

    async def put(self, key: str, rng: random.Random) -> None:
        st = self.state[key]
        st.version += 1
        body = body_for(key, rng.choice(SIZES), st.version)
        self.report.puts += 1
        got = await self._call("PUT", key, body)
        if got is not None and got[0] == 201:
            st.acked, st.maybe = body, []
        else:
            st.maybe.append(body)
            if got is not None:
                self.report.problems.append(f"PUT {key}: {got[0]}")

    async def delete(self, key: str) -> None:
        st = self.state[key]
        self.report.deletes += 1
        tries: list[int] = []
        got = await self._call("DELETE", key, tries=tries)
        if got is None:
            st.maybe.append(None)
            return
        # A retried DELETE finds what its failed first attempt (which may have landed) left.
        if got[0] == 404 and st.acked is not None and not st.maybe and tries == [0]:
            self.report.lost += 1
            self.report.problems.append(f"lost: DELETE {key} found nothing")
        if got[0] in (204, 404):
            st.acked, st.maybe = None, []

    async def get(self, key: str) -> None:
        self.report.gets += 1
        got = await self._call("GET", key)
        if got is None:
            return
        self.judge(key, got)

    def judge(self, key: str, got: tuple[int, bytes]) -> None:
        st = self.state[key]
        status, body = got
        value: Value = body if status == 200 else None
        if status not in (200, 404):
            self.report.problems.append(f"GET {key}: {status}")
            return
        if st.allowed(value):
            return
        if value is None:
            self.report.lost += 1
            self.report.problems.append(f"lost: {key} (want {md5(st.acked or b'')})")
        else:
            self.report.stale += 1
            self.report.problems.append(f"stale: {key} got {md5(value)}")

    async def worker(self, index: int, stop: asyncio.Event) -> None:
        rng = random.Random(self.seed * 1000 + index)
        keys = self.keys_of(index)
        while not stop.is_set():
            key = rng.choice(keys)
            roll = rng.random()
            self.report.ops += 1
            if roll < 0.45:
                await self.put(key, rng)
            elif roll < 0.9:
                await self.get(key)
            else:
                await self.delete(key)

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self.worker(i, stop) for i in range(self.workers)))

    async def final_check(self) -> None:
        """Read every key once more (after the faults and a replication pass)."""
        for key in self.state:
            got = await self._call("GET", key)
            if got is not None:
                self.judge(key, got)

    def settled(self) -> dict[str, bytes]:
        """Keys whose content is known for sure (an acknowledged body, no doubt since)."""
        return {k: s.acked for k, s in self.state.items() if s.acked is not None and not s.maybe}
