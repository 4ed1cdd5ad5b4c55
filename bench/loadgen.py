"""A neutral object-store load generator: the Swift native API or S3, one JSON document out.

    .venv/bin/python bench/loadgen.py --auth-url URL --user U --key K [options]
    .venv/bin/python bench/loadgen.py --api s3 --endpoint URL --access-key A --secret-key S

It knows no server: the same requests go to Stratus and to OpenStack Swift, so their figures
compare. Native: ``GET /auth/v1.0`` with X-Auth-User/X-Auth-Key, then requests under the
X-Storage-Url with X-Auth-Token. S3: path-style requests signed here (SigV4,
UNSIGNED-PAYLOAD), so no SDK's cost lands in the client's CPU.

Workloads (``--workloads``, in order):

- ``small``: PUT, GET, DELETE of ``--small-size`` objects at ``--concurrency``; ``--count``
  objects, or ``--duration`` seconds per PUT and GET phase;
- ``large``: PUT, GET, DELETE of ``--large-sizes`` objects, ``--large-total`` bytes each, at
  ``--large-concurrency``;
- ``list``: fills a container with ``--list-objects`` empty objects (``list-fill``), then lists
  it whole ``--list-repeats`` times in pages of ``--list-page``.

Each phase reports ops/s, MB/s, latency percentiles, errors, the client's CPU and, given
``--server-pids`` or ``--server-pidfile``, the server's CPU (those processes and all their
descendants, from /proc) per operation. Every phase is bounded by its count or its duration,
and every request by ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import hmac
import json
import math
import os
import re
import resource
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 10**6, "mb": 10**6,
         "mib": 1 << 20, "g": 10**9, "gb": 10**9, "gib": 1 << 30}  # fmt: skip
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_size(text: str) -> int:
    """``4096``, ``64MiB``, ``1.5G``: bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"bad size {text!r}")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


# ------------------------------------------------------------------ CPU accounting


def _proc_stats() -> dict[int, tuple[int, float]]:
    """Every process's (parent PID, CPU seconds with reaped children), from /proc."""
    table: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # utime + stime, and cutime + cstime: children that exited and were reaped still count
        table[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / CLK_TCK)
    return table


def _tree(table: dict[int, tuple[int, float]], roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, seen, todo = [], set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in table:
            continue
        seen.add(pid)
        found.append(pid)
        todo += children.get(pid, [])
    return found


def descendants(roots: list[int]) -> list[int]:
    """``roots`` and every process below them (Linux /proc)."""
    return _tree(_proc_stats(), roots)


def tree_cpu_seconds(roots: list[int]) -> float | None:
    """CPU seconds used so far by ``roots`` and every descendant (forked workers); Linux /proc."""
    if not roots:
        return None
    table = _proc_stats()
    return sum(table[pid][1] for pid in _tree(table, roots))


def own_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs: the whole machine, every process."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]


# ------------------------------------------------------------------ the two APIs


class Api(Protocol):
    async def create_container(self, name: str) -> None: ...
    async def delete_container(self, name: str) -> None: ...
    async def put(self, container: str, key: str, body: bytes) -> None: ...
    async def get(self, container: str, key: str) -> int: ...
    async def delete(self, container: str, key: str) -> None: ...
    async def list_page(
        self, container: str, marker: str | None, limit: int
    ) -> tuple[list[str], str | None]: ...


class HttpError(Exception):
    """A status the operation does not accept."""


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    body: bytes | None = None,
    ok: tuple[int, ...] = (200,),
    keep: bool = False,
) -> tuple[int, bytes]:
    """One request; the body is read whole when ``keep`` (else only counted): (bytes, body)."""
    async with session.request(method, URL(url, encoded=True), headers=headers, data=body) as r:
        if r.status not in ok:
            raise HttpError(f"{method} {url} -> {r.status} {(await r.read())[:200]!r}")
        if keep:
            data = await r.read()
            return len(data), data
        n = 0
        async for chunk in r.content.iter_chunked(1 << 20):
            n += len(chunk)
        return n, b""


class SwiftApi:
    """Swift's native API under one X-Storage-Url."""

    def __init__(self, session: aiohttp.ClientSession, storage_url: str, token: str) -> None:
        self.session, self.base, self.headers = (
            session,
            storage_url.rstrip("/"),
            {"X-Auth-Token": token},
        )

    @classmethod
    async def login(
        cls, session: aiohttp.ClientSession, auth_url: str, user: str, key: str
    ) -> SwiftApi:
        async with session.get(auth_url, headers={"X-Auth-User": user, "X-Auth-Key": key}) as r:
            if r.status // 100 != 2:
                raise HttpError(f"auth {auth_url}: {r.status}")
            return cls(session, r.headers["X-Storage-Url"], r.headers["X-Auth-Token"])

    def _url(self, container: str, key: str | None = None) -> str:
        url = f"{self.base}/{quote(container)}"
        return url if key is None else f"{url}/{quote(key)}"

    async def create_container(self, name: str) -> None:
        await call(self.session, "PUT", self._url(name), self.headers, ok=(201, 202))

    async def delete_container(self, name: str) -> None:
        await call(self.session, "DELETE", self._url(name), self.headers, ok=(204, 404, 409))

    async def put(self, container: str, key: str, body: bytes) -> None:
        await call(
            self.session, "PUT", self._url(container, key), self.headers, body=body, ok=(201,)
        )

    async def get(self, container: str, key: str) -> int:
        return (await call(self.session, "GET", self._url(container, key), self.headers))[0]

    async def delete(self, container: str, key: str) -> None:
        await call(self.session, "DELETE", self._url(container, key), self.headers, ok=(204, 404))

    async def list_page(
        self, container: str, marker: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        url = f"{self._url(container)}?format=json&limit={limit}"
        if marker:
            url += "&marker=" + quote(marker, safe="")
        _, body = await call(self.session, "GET", url, self.headers, ok=(200, 204), keep=True)
        names = [item["name"] for item in json.loads(body or b"[]")]
        return names, names[-1] if len(names) == limit else None


class SigV4:
    """AWS Signature Version 4 for path-style S3 requests, the payload unsigned."""

    def __init__(self, access: str, secret: str, region: str) -> None:
        self.access, self.secret, self.region = access, secret, region
        self._keys: dict[str, bytes] = {}

    def _signing_key(self, day: str) -> bytes:
        if day not in self._keys:
            key = ("AWS4" + self.secret).encode()
            for part in (day, self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys[day] = key
        return self._keys[day]

    def sign(
        self, method: str, host: str, path: str, query: list[tuple[str, str]]
    ) -> dict[str, str]:
        """Headers for a request to ``path`` (already URI-encoded) with ``query`` (raw)."""
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        headers = {"host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": stamp}
        names = sorted(headers)
        canonical = "\n".join(
            [
                method,
                path,
                encode_query(query),
                "".join(f"{n}:{headers[n]}\n" for n in names),
                ";".join(names),
                "UNSIGNED-PAYLOAD",
            ]
        )
        scope = f"{stamp[:8]}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        signature = hmac.new(
            self._signing_key(stamp[:8]), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return headers


def encode_query(query: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query))


class S3Api:
    """S3, path style: a container is a bucket."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: str, signer: SigV4) -> None:
        parts = urlsplit(endpoint)
        self.session, self.signer = session, signer
        self.host, self.base = parts.netloc, f"{parts.scheme}://{parts.netloc}"

    async def _call(
        self, method: str, path: str, query: list[tuple[str, str]] | None = None, **kw: Any
    ) -> tuple[int, bytes]:
        query = query or []
        url = self.base + path + ("?" + encode_query(query) if query else "")
        return await call(
            self.session, method, url, self.signer.sign(method, self.host, path, query), **kw
        )

    async def create_container(self, name: str) -> None:
        await self._call("PUT", f"/{name}", ok=(200, 409))  # 409: already ours

    async def delete_container(self, name: str) -> None:
        await self._call("DELETE", f"/{name}", ok=(204, 404, 409))

    async def put(self, container: str, key: str, body: bytes) -> None:
        await self._call("PUT", f"/{container}/{quote(key)}", body=body)

    async def get(self, container: str, key: str) -> int:
        return (await self._call("GET", f"/{container}/{quote(key)}"))[0]

    async def delete(self, container: str, key: str) -> None:
        await self._call("DELETE", f"/{container}/{quote(key)}", ok=(200, 204, 404))

    async def common_prefixes(self, container: str, delimiter: str, limit: int) -> int:
        """One ListObjectsV2 page with ``delimiter``: how many common prefixes it held."""
        query = [("list-type", "2"), ("delimiter", delimiter), ("max-keys", str(limit))]
        _, body = await self._call("GET", f"/{container}", query, keep=True)
        return len(re.findall(rb"<CommonPrefixes>", body))

    async def list_page(
        self, container: str, marker: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        query = [("list-type", "2"), ("max-keys", str(limit))]
        if marker:
            query.append(("continuation-token", marker))
        _, body = await self._call("GET", f"/{container}", query, keep=True)
        names = [k.decode() for k in re.findall(rb"<Key>([^<]*)</Key>", body)]
        token = None
        if re.search(rb"<IsTruncated>\s*true\s*</IsTruncated>", body, re.IGNORECASE):
            m = re.search(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>", body)
            token = m.group(1).decode().replace("&amp;", "&") if m else None
        return names, token


# ------------------------------------------------------------------ phases


@dataclass
class Phase:
    """One timed run of one operation over one container."""

    workload: str
    op: str  # put, get or delete
    container: str
    size: int
    concurrency: int
    keys: list[str] = field(default_factory=list)  # count mode: exactly these
    duration: float | None = None  # duration mode: new keys (put) or ``keys`` cycled (get)


def body_for(template: bytes, index: int) -> bytes:
    """A distinct body per object (its index up front), so nothing dedups or caches by content."""
    tag = b"%016d" % index
    return (tag + template[len(tag) :])[: len(template)] if template else b""


@dataclass
class Meter:
    """What the phase's workers count."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    nbytes: int = 0
    done: list[str] = field(default_factory=list)

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(repr(exc)[:300])


async def run_phase(api: Api, phase: Phase, server_pids: list[int]) -> dict[str, Any]:
    """Run ``phase``; its figures, and in ``_keys`` the keys a PUT stored."""
    template = os.urandom(phase.size) if phase.op == "put" else b""
    meter = Meter()
    deadline = None if phase.duration is None else time.monotonic() + phase.duration
    pending = iter(phase.keys) if deadline is None else None
    serial = iter(range(1 << 62))
    cycle = iter(range(1 << 62))

    def next_key() -> str | None:
        if pending is not None:
            return next(pending, None)
        assert deadline is not None
        if time.monotonic() >= deadline:
            return None
        if phase.op == "put":
            return f"d/{next(serial):010d}"
        return phase.keys[next(cycle) % len(phase.keys)] if phase.keys else None

    ops: dict[str, Callable[[str], Awaitable[int]]] = {
        "put": lambda k: _put(api, phase.container, k, body_for(template, hash(k) & 0xFFFFFFF)),
        "get": lambda k: api.get(phase.container, k),
        "delete": lambda k: _delete(api, phase.container, k),
    }
    op = ops[phase.op]

    async def worker() -> None:
        while (key := next_key()) is not None:
            t0 = time.perf_counter()
            try:
                n = await op(key)
                if phase.op == "get" and phase.size and n != phase.size:
                    raise HttpError(f"GET {key}: {n} bytes, want {phase.size}")
            except (TimeoutError, aiohttp.ClientError, HttpError) as exc:
                meter.error(exc)
                continue
            meter.latencies.append(time.perf_counter() - t0)
            meter.nbytes += n
            if phase.op == "put":
                meter.done.append(key)

    s0, m0, c0, la = (
        tree_cpu_seconds(server_pids),
        machine_busy(),
        own_cpu_seconds(),
        os.getloadavg()[0],
    )
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(phase.concurrency)))
    wall = max(time.perf_counter() - t0, 1e-9)
    s1, m1, c1 = tree_cpu_seconds(server_pids), machine_busy(), own_cpu_seconds()
    lat = sorted(meter.latencies)
    ms = {
        name: None if value is None else round(value * 1000, 3)
        for name, value in (
            ("mean", statistics.fmean(lat) if lat else None),
            ("p50", percentile(lat, 50)),
            ("p90", percentile(lat, 90)),
            ("p99", percentile(lat, 99)),
            ("max", lat[-1] if lat else None),
        )
    }
    result: dict[str, Any] = {
        "workload": phase.workload,
        "op": phase.op,
        "object_size": phase.size,
        "concurrency": phase.concurrency,
        "ops": len(lat),
        "errors": meter.errors,
        "wall_s": round(wall, 4),
        "ops_per_s": round(len(lat) / wall, 2),
        "MB_per_s": round(meter.nbytes / wall / 1e6, 3),
        "lat_ms": ms,
        "client_cpu_pct": round(100 * (c1 - c0) / wall, 1),
        "machine_cpu_busy_pct": round(100 * (m1[0] - m0[0]) / max(1, m1[1] - m0[1]), 1),
        "loadavg1_before": round(la, 2),
    }
    if s0 is not None and s1 is not None:
        result["server_cpu_s"] = round(s1 - s0, 3)
        result["server_cpu_pct"] = round(100 * (s1 - s0) / wall, 1)
        result["server_cpu_ms_per_op"] = round(1000 * (s1 - s0) / len(lat), 3) if lat else None
    if meter.samples:
        result["error_samples"] = meter.samples
    progress(result)
    result["_keys"] = meter.done
    return result


async def _put(api: Api, container: str, key: str, body: bytes) -> int:
    await api.put(container, key, body)
    return len(body)


async def _delete(api: Api, container: str, key: str) -> int:
    await api.delete(container, key)
    return 0


def progress(r: dict[str, Any]) -> None:
    print(
        f"# {r['workload']:<10} {r['op']:<6} size={r['object_size']:<9} c={r['concurrency']:<3} "
        f"ops={r['ops']:<6} err={r['errors']:<3} {r['ops_per_s']:9.1f} ops/s "
        f"{r['MB_per_s']:8.2f} MB/s p50={r['lat_ms']['p50']}ms p99={r['lat_ms']['p99']}ms "
        f"server={r.get('server_cpu_ms_per_op')} ms/op",
        file=sys.stderr,
    )


def publish(out: list[dict[str, Any]], result: dict[str, Any]) -> list[str]:
    keys = result.pop("_keys")
    out.append(result)
    return keys


# ------------------------------------------------------------------ workloads


async def small(api: Api, cfg: argparse.Namespace, run: str, out: list[dict[str, Any]]) -> None:
    c = f"{cfg.container_prefix}-{run}-small"
    await api.create_container(c)
    base = dict(workload="small", container=c, size=cfg.small_size, concurrency=cfg.concurrency)
    if cfg.warmup:  # untimed: connections open, caches warm
        warm = [f"w/{i:08d}" for i in range(cfg.warmup)]
        await run_phase(api, Phase(op="put", keys=warm, **base), [])
        await run_phase(api, Phase(op="delete", keys=warm, **base), [])
    if cfg.duration:
        put = Phase(op="put", duration=cfg.duration, **base)
    else:
        put = Phase(op="put", keys=[f"o/{i:08d}" for i in range(cfg.count)], **base)
    keys = publish(out, await run_phase(api, put, cfg.pids))
    if not keys:
        return
    get = Phase(op="get", keys=keys, duration=cfg.duration, **base)
    publish(out, await run_phase(api, get, cfg.pids))
    publish(out, await run_phase(api, Phase(op="delete", keys=keys, **base), cfg.pids))
    await api.delete_container(c)


async def large(api: Api, cfg: argparse.Namespace, run: str, out: list[dict[str, Any]]) -> None:
    for size in cfg.large_sizes:
        c = f"{cfg.container_prefix}-{run}-large-{size}"
        await api.create_container(c)
        count = max(cfg.large_concurrency, cfg.large_total // size)
        base = dict(workload="large", container=c, size=size, concurrency=cfg.large_concurrency)
        put = Phase(op="put", keys=[f"L/{i:08d}" for i in range(count)], **base)
        keys = publish(out, await run_phase(api, put, cfg.pids))
        publish(out, await run_phase(api, Phase(op="get", keys=keys, **base), cfg.pids))
        publish(out, await run_phase(api, Phase(op="delete", keys=keys, **base), cfg.pids))
        await api.delete_container(c)


async def listing(api: Api, cfg: argparse.Namespace, run: str, out: list[dict[str, Any]]) -> None:
    c = f"{cfg.container_prefix}-{run}-list"
    await api.create_container(c)
    base = dict(container=c, size=0, concurrency=cfg.concurrency)
    keys = [f"k/{i:08d}" for i in range(cfg.list_objects)]
    publish(out, await run_phase(api, Phase("list-fill", "put", keys=keys, **base), cfg.pids))
    seconds, listed, pages = [], 0, 0
    s0 = tree_cpu_seconds(cfg.pids)
    for _ in range(cfg.list_repeats):
        t0 = time.perf_counter()
        marker, listed, pages = None, 0, 0
        while True:
            names, marker = await api.list_page(c, marker, cfg.list_page)
            listed, pages = listed + len(names), pages + 1
            if marker is None:
                break
        seconds.append(time.perf_counter() - t0)
    s1 = tree_cpu_seconds(cfg.pids)
    median = statistics.median(seconds)
    result: dict[str, Any] = {
        "workload": "list",
        "op": "list",
        "objects_listed": listed,
        "page_size": cfg.list_page,
        "pages": pages,
        "repeats": cfg.list_repeats,
        "seconds": {
            "median": round(median, 4),
            "min": round(min(seconds), 4),
            "max": round(max(seconds), 4),
            "all": [round(s, 4) for s in seconds],
        },
        "objects_per_s": round(listed / median, 1),
    }
    if s0 is not None and s1 is not None:
        result["server_cpu_s_per_listing"] = round((s1 - s0) / cfg.list_repeats, 3)
    if listed < cfg.list_objects:
        result["warning"] = f"listed {listed} of {cfg.list_objects}"
    print(f"# list: {listed} objects in {median:.3f} s (median of {len(seconds)})", file=sys.stderr)
    out.append(result)
    cleanup = Phase("list-cleanup", "delete", keys=keys, **base)
    publish(out, await run_phase(api, cleanup, cfg.pids))
    await api.delete_container(c)


WORKLOADS = {"small": small, "large": large, "list": listing}


# ------------------------------------------------------------------ main


def server_pids(cfg: argparse.Namespace) -> list[int]:
    pids = [int(p) for p in cfg.server_pids.split(",") if p.strip()]
    if cfg.server_pidfile:
        with open(cfg.server_pidfile) as f:  # one PID, or "name PID", a line
            pids += [int(line.split()[-1]) for line in f if line.strip()]
    return pids


async def run(cfg: argparse.Namespace) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=cfg.timeout)
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=3600)
    started = datetime.datetime.now(datetime.UTC).isoformat()
    t0, c0 = time.perf_counter(), own_cpu_seconds()
    results: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        skip_auto_headers=("Accept-Encoding", "Content-Type"),
        headers={"User-Agent": "stratus-loadgen/1"},
    ) as session:
        api: Api
        if cfg.api == "s3":
            api = S3Api(session, cfg.endpoint, SigV4(cfg.access_key, cfg.secret_key, cfg.region))
        else:
            api = await SwiftApi.login(session, cfg.auth_url, cfg.user, cfg.key)
        run_id = time.strftime("%H%M%S") + uuid.uuid4().hex[:6]
        for name in cfg.workloads:
            try:
                await WORKLOADS[name](api, cfg, run_id, results)
            except Exception as exc:  # the other workloads still report
                failures.append({"workload": name, "error": repr(exc)[:500]})
                print(f"# workload {name} FAILED: {exc!r}", file=sys.stderr)
    secret = {"key", "secret_key", "pids"}
    return {
        "tool": "stratus-loadgen/1",
        "label": cfg.label,
        "api": cfg.api,
        "target": cfg.endpoint if cfg.api == "s3" else cfg.auth_url,
        "started": started,
        "host": {"cpus": os.cpu_count(), "hostname": socket.gethostname()},
        "config": {k: v for k, v in vars(cfg).items() if k not in secret},
        "results": results,
        "failures": failures,
        "total_wall_s": round(time.perf_counter() - t0, 2),
        "client_cpu_s": round(own_cpu_seconds() - c0, 2),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--api", choices=("native", "s3"), default="native")
    ap.add_argument("--label", default="", help="copied to the JSON")
    ap.add_argument("--auth-url", default="http://127.0.0.1:8080/auth/v1.0")
    ap.add_argument("--user", default="test:tester")
    ap.add_argument("--key", default="testing")
    ap.add_argument("--endpoint", default="http://127.0.0.1:8080", help="S3 endpoint")
    ap.add_argument("--access-key", default="test:tester")
    ap.add_argument("--secret-key", default="testing")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument(
        "--workloads",
        default="small,large,list",
        type=lambda s: [w for w in s.split(",") if w],
        help="comma list of " + ",".join(WORKLOADS),
    )
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    ap.add_argument("-n", "--count", type=int, default=2000, help="small objects per phase")
    ap.add_argument("-t", "--duration", type=float, help="seconds per small PUT/GET phase")
    ap.add_argument("--small-size", type=parse_size, default=4096)
    ap.add_argument("--warmup", type=int, default=64, help="untimed small PUT+DELETE first")
    ap.add_argument(
        "--large-sizes",
        type=lambda s: [parse_size(x) for x in s.split(",")],
        default=[64 << 20],
    )
    ap.add_argument("--large-concurrency", type=int, default=2)
    ap.add_argument("--large-total", type=parse_size, default=256 << 20, help="bytes per size")
    ap.add_argument("--list-objects", type=int, default=10000)
    ap.add_argument("--list-page", type=int, default=1000)
    ap.add_argument("--list-repeats", type=int, default=3)
    ap.add_argument("--container-prefix", default="loadgen")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per socket read")
    ap.add_argument("--server-pids", default="", help="comma list of the server's PIDs")
    ap.add_argument("--server-pidfile", help="a file of PIDs (or 'name PID' lines)")
    ap.add_argument("--out", help="also write the JSON here")
    return ap


def main(argv: list[str] | None = None) -> int:
    cfg = parser().parse_args(argv)
    if bad := [w for w in cfg.workloads if w not in WORKLOADS]:
        raise SystemExit(f"unknown workloads {bad}")
    cfg.pids = server_pids(cfg)
    doc = asyncio.run(run(cfg))
    text = json.dumps(doc, indent=1)
    print(text)
    if cfg.out:
        with open(cfg.out, "w") as f:
            f.write(text + "\n")
    return 1 if doc["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
