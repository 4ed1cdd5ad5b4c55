"""A bounded object workload that remembers what was acknowledged, and its checks.

Each key is written only by one task at a time, so its history is a
sequence: acknowledged states (a version, or deleted) with, between them, the
attempts whose outcome the client never learnt (a cut connection, a 5xx).
After the storm a key may hold its last acknowledged state or one of the
attempts after it, never anything older and never a body that was not
written whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig

from objectstore.client import NodeClientError, NotFound
from tests.probe.objectstore.harness import (
    ACCOUNT,
    S3_ACCESS,
    S3_SECRET,
    ProbeCluster,
    Swift,
    body_for,
)

CONTAINER = "power"
DELETED = -1  # the state of a key whose last operation was a DELETE


def size_of(key: str, version: int) -> int:
    """Small bodies live inline in the index; bigger ones in files of their own."""
    return (
        1024 + (version * 977) % 3000 if key.startswith("s") else 20000 + (version * 5077) % 40000
    )


def body(key: str, version: int) -> bytes:
    return body_for(key, size_of(key, version), version)


@dataclass
class KeyHistory:
    acked: int | None = None  # last acknowledged state (None: never written)
    pending: set[int] = field(default_factory=set)  # attempts since, outcome unknown
    next_version: int = 1

    def allowed(self) -> set[int | None]:
        return {self.acked, *self.pending}


@dataclass
class Workload:
    cluster: ProbeCluster
    swift: Swift
    keys: list[str]
    rng: random.Random
    history: dict[str, KeyHistory] = field(default_factory=dict)
    ops: int = 0
    acked: int = 0
    reads_checked: int = 0
    torn_reads: list[str] = field(default_factory=list)
    _s3: Any = None

    def __post_init__(self) -> None:
        self.history = {k: KeyHistory() for k in self.keys}
        self._locks = {k: asyncio.Lock() for k in self.keys}
        self._s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.cluster.cfg.s3.port}",
            aws_access_key_id=S3_ACCESS,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
            config=BotoConfig(
                retries={"max_attempts": 1},
                connect_timeout=5,
                read_timeout=30,
                request_checksum_calculation="when_required",
            ),
        )

    async def setup(self) -> None:
        status, text, _ = await self.swift.request("PUT", f"/{CONTAINER}")
        assert status in (201, 202), text

    async def _put(self, key: str, version: int) -> bool:
        data = body(key, version)
        meta = {"X-Object-Meta-Version": str(version)}
        if self.rng.random() < 0.3:  # the S3 API, on the same data
            await asyncio.to_thread(
                self._s3.put_object,
                Bucket=CONTAINER,
                Key=key,
                Body=data,
                Metadata={"version": str(version)},
            )
            return True
        status, _text, _ = await self.swift.request("PUT", f"/{CONTAINER}/{key}", data, meta)
        return status == 201

    async def _delete(self, key: str) -> bool:
        if self.rng.random() < 0.3:
            await asyncio.to_thread(self._s3.delete_object, Bucket=CONTAINER, Key=key)
            return True
        status, _, _ = await self.swift.request("DELETE", f"/{CONTAINER}/{key}")
        return status in (204, 404)

    def _s3_get(self, key: str) -> tuple[int, bytes, dict[str, str]]:
        """A GET through the S3 API, as (status, body, Swift-shaped headers)."""
        try:
            r = self._s3.get_object(Bucket=CONTAINER, Key=key)
        except botocore.exceptions.ClientError as exc:
            return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)), b"", {}
        headers = {
            "X-Object-Meta-Version": r.get("Metadata", {}).get("version", "0"),
            "Etag": r["ETag"].strip('"'),
        }
        return 200, r["Body"].read(), headers

    async def _read(self, key: str) -> None:
        """Whatever a GET (either API) serves is one whole version that was written."""
        if self.rng.random() < 0.3:
            with contextlib.suppress(botocore.exceptions.BotoCoreError):
                status, data, headers = await asyncio.to_thread(self._s3_get, key)
                if status == 200:
                    self._check_read(key, data, headers)
            return
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            status, data, headers = await self.swift.request("GET", f"/{CONTAINER}/{key}")
            if status != 200:
                return
            self._check_read(key, data, headers)

    def _check_read(self, key: str, data: bytes, headers: Mapping[str, str]) -> None:
        self.reads_checked += 1
        version = int(headers.get("X-Object-Meta-Version", "0"))
        if data != body(key, version) or headers.get("Etag") != _md5(data):
            self.torn_reads.append(f"{key}: {len(data)} bytes served as version {version}")

    async def one(self, key: str) -> None:
        h = self.history[key]
        async with self._locks[key]:
            self.ops += 1
            if self.rng.random() < 0.25:
                await self._read(key)
            if h.acked not in (None, DELETED) and self.rng.random() < 0.2:
                state = DELETED
            else:
                state = h.next_version
                h.next_version += 1
            h.pending.add(state)
            try:
                ok = await (self._delete(key) if state == DELETED else self._put(key, state))
            except Exception:
                return
            if ok:
                h.acked, h.pending = state, set()
                self.acked += 1

    async def run(self, *, seconds: float, max_ops: int, workers: int = 6) -> None:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < deadline and self.ops < max_ops:
                await self.one(self.rng.choice(self.keys))

        await asyncio.gather(*(worker() for _ in range(workers)))


def _meta_version(metadata: dict[str, str]) -> int:
    """The version the writer put in the object's metadata (0: none)."""
    for name, value in metadata.items():
        if name.lower().endswith("version"):
            return int(value)
    raise AssertionError(f"no version in the stored metadata {metadata}")


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


async def replica_states(c: ProbeCluster, key: str) -> list[tuple[int | None, str]]:
    """Each primary's (version, problem) for ``key``, reading the whole body back."""
    part, primaries = c.rings().object.get_nodes(ACCOUNT, CONTAINER, key)
    out: list[tuple[int | None, str]] = []
    for dev in primaries:
        try:
            async with await c.client.get_object(dev, part, ACCOUNT, CONTAINER, key) as stream:
                data = await stream.read()
                info = stream.info
        except NotFound:
            out.append((DELETED, ""))
            continue
        except NodeClientError as exc:
            out.append((None, f"{dev.port}: {exc}"))
            continue
        version = _meta_version(info.metadata)
        problem = ""
        if data != body(key, version) or info.etag != _md5(data):
            problem = f"{dev.port}: {len(data)} bytes that are not version {version}"
        out.append((version, problem))
    return out


async def check_all_replicas(c: ProbeCluster, w: Workload) -> list[str]:
    """After healing: every replica of every key holds one allowed state, the same one."""
    problems = []
    for key, h in w.history.items():
        if h.acked is None and not h.pending:
            continue
        states = await replica_states(c, key)
        versions = {v for v, _ in states}
        allowed = {DELETED if s is None else s for s in h.allowed()}
        problems += [p for _, p in states if p]
        if len(versions) != 1:
            problems.append(f"{key}: replicas disagree {states} (acked {h.acked})")
        elif not versions <= allowed:
            problems.append(f"{key}: holds {versions}, acknowledged {h.acked}, pending {h.pending}")
    return problems


async def check_quorum(c: ProbeCluster, w: Workload, quorum: int) -> list[str]:
    """After losing every node's page cache: each acknowledged state on ``quorum`` replicas."""
    problems = []
    for key, h in w.history.items():
        if h.acked is None:
            continue
        states = await replica_states(c, key)
        problems += [p for _, p in states if p]
        ok = {h.acked, *h.pending}
        held = sum(1 for v, _ in states if v in ok)
        if held < quorum:
            problems.append(f"{key}: acknowledged {h.acked} on {held} replicas: {states}")
    return problems


async def check_listing(c: ProbeCluster, w: Workload) -> list[str]:
    """The container lists exactly the keys whose settled state is present."""
    status, data, _ = await w.swift.request("GET", f"/{CONTAINER}?format=json&limit=10000")
    import json

    listed = {row["name"] for row in json.loads(data)} if status == 200 else set()
    problems = []
    for key, h in w.history.items():
        if h.pending or h.acked is None:
            continue
        if (h.acked != DELETED) != (key in listed):
            problems.append(f"{key}: listed={key in listed}, acknowledged {h.acked}")
    return problems
